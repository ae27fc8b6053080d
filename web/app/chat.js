// The chat view: header, messages with history paging, the composer, and
// the live-room extras (online count, anonymous viewing).
import { TYPES } from "/sdk/chat.js";
import { $, h, clear, fmtTime, tipText, typeNames } from "./dom.js";
import { app, conv, addMessage, isLive, myRole } from "./state.js";
import { openPanel, closePanel } from "./panels.js";

let onlineTimer;

export async function openChat(groupID) {
  const g = app.groups.get(groupID);
  document.body.classList.add("in-chat");
  $("empty").hidden = true;
  $("chat").hidden = false;
  if (app.panel) openPanel(app.panel);
  renderHeader();
  renderMessages();
  clearInterval(onlineTimer);
  if (isLive(g)) {
    refreshOnline();
    onlineTimer = setInterval(refreshOnline, 5000);
  }
  $(app.me ? "composer-text" : "chat-title").focus?.();
  const c = conv(groupID);
  if (!c.loaded && !isLive(g) && app.me) {
    c.loaded = true;
    await loadOlder(groupID);
  }
}

export function closeChat() {
  clearInterval(onlineTimer);
  app.current = null;
  document.body.classList.remove("in-chat");
  $("chat").hidden = true;
  $("empty").hidden = false;
  closePanel();
  app.actions.renderGroups?.();
}

export function renderHeader() {
  const g = app.groups.get(app.current);
  if (!g) return;
  $("chat-title").textContent = g.name || g.groupID;
  const parts = [typeNames[g.type] || g.type];
  if (!isLive(g) && g.memberNum) parts.push(`${g.memberNum} member${g.memberNum === 1 ? "" : "s"}`);
  const role = myRole(g);
  if (role && role !== TYPES.GRP_MBR_ROLE_MEMBER) parts.push(`you are ${role === "Owner" ? "the owner" : "an admin"}`);
  if (g.muteAllMembers) parts.push("everyone muted");
  $("chat-sub").textContent = parts.join(" · ");
  $("online").hidden = !isLive(g);
  $("members-btn").hidden = !app.me;
  $("settings-btn").hidden = false;
  const canSend = !!app.me;
  $("composer").hidden = !canSend;
  $("composer-off").hidden = canSend;
  $("composer-off").textContent = canSend ? "" : "You are watching anonymously. Sign in to chat.";
  const c = conv(app.current);
  $("older").hidden = isLive(g) || !c.loaded || c.completed || !app.me;
}

export async function refreshOnline() {
  const id = app.current;
  if (!id || !isLive(app.groups.get(id))) return;
  try {
    const n = (await app.chat.getGroupOnlineMemberCount(id)).data.memberCount;
    if (id === app.current) $("online").textContent = `${n} online`;
  } catch (err) {
    app.actions.fail(err);
  }
}

// ---- messages ---------------------------------------------------------------------

function renderMessages() {
  const ol = clear($("messages"));
  for (const m of conv(app.current).messages) ol.append(messageItem(m));
  scrollToEnd(true);
}

function displayName(m) {
  return m.nameCard || m.nick || m.from;
}

function messageItem(m) {
  const key = m.sequence > 0 ? `s${m.sequence}` : m.ID;
  if (m.type === TYPES.MSG_GRP_TIP) {
    return h("li", { class: "tip", "data-key": key }, h("span", { text: tipText(m) }));
  }
  let body;
  if (m.type === TYPES.MSG_TEXT) body = h("p", { class: "text", text: m.payload.text });
  else body = h("p", { class: "text custom", text: `[${m.payload.description || "custom"}] ${m.payload.data || ""}` });
  const out = m.from === app.me;
  return h("li", { class: `msg ${out ? "out" : "in"}`, "data-key": key, "data-id": m.ID },
    h("div", { class: "meta" },
      h("span", { class: "from", text: out ? "You" : displayName(m) }),
      h("time", { datetime: new Date(m.time * 1000).toISOString(), text: fmtTime(m.time) }),
      m.status === "fail" ? h("span", { class: "failed", text: "not sent" }) : null),
    body);
}

function nearBottom() {
  const ol = $("messages");
  return ol.scrollHeight - ol.scrollTop - ol.clientHeight < 80;
}

function scrollToEnd(force) {
  const ol = $("messages");
  if (force || nearBottom()) ol.scrollTop = ol.scrollHeight;
}

/** appendMessage shows m, which addMessage put at index at. */
export function appendMessage(m, at) {
  const ol = $("messages");
  const stick = nearBottom();
  const item = messageItem(m);
  ol.insertBefore(item, ol.children[at] || null);
  if (stick || m.from === app.me) scrollToEnd(true);
}

async function loadOlder(groupID) {
  const c = conv(groupID);
  const button = $("older");
  button.disabled = true;
  try {
    const opts = { conversationID: TYPES.CONV_GROUP + groupID };
    if (c.nextReq) opts.nextReqMessageID = c.nextReq;
    const r = (await app.chat.getMessageList(opts)).data;
    c.nextReq = r.nextReqMessageID;
    c.completed = r.isCompleted;
    if (groupID !== app.current) return;
    const ol = $("messages");
    const fromBottom = ol.scrollHeight - ol.scrollTop;
    for (const m of r.messageList) {
      const at = addMessage(c, m);
      if (at >= 0) ol.insertBefore(messageItem(m), ol.children[at] || null);
    }
    ol.scrollTop = ol.scrollHeight - fromBottom;
    renderHeader();
  } catch (err) {
    app.actions.fail(err);
  } finally {
    button.disabled = false;
  }
}

async function send(ev) {
  ev.preventDefault();
  const input = $("composer-text");
  const text = input.value;
  const groupID = app.current;
  if (!text.trim() || !groupID) return;
  const m = app.chat.createTextMessage({ to: groupID, conversationType: TYPES.CONV_GROUP, payload: { text } });
  input.value = "";
  autosize();
  try {
    await app.chat.sendMessage(m);
    const c = conv(groupID);
    const at = addMessage(c, m);
    if (at >= 0 && groupID === app.current) appendMessage(m, at);
    app.actions.renderGroups();
  } catch (err) {
    if (!input.value) input.value = text; // keep it to retry
    app.actions.fail(err);
  }
}

function autosize() {
  const t = $("composer-text");
  t.style.height = "auto";
  t.style.height = Math.min(t.scrollHeight, 160) + "px";
}

function initChat() {
  $("composer").addEventListener("submit", send);
  $("composer-text").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("composer-text").addEventListener("input", autosize);
  $("older").addEventListener("click", () => loadOlder(app.current));
  $("back").addEventListener("click", closeChat);
  $("members-btn").addEventListener("click", () => openPanel("members"));
  $("settings-btn").addEventListener("click", () => openPanel("settings"));
}

initChat();
