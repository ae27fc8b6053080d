// The chatd demo: sign in (or watch a live room anonymously), a group
// list with unread marks, and the chat, member and settings views. It
// talks to chatd only through the SDK at /sdk/chat.js.
import { create, TYPES, EVENT } from "/sdk/chat.js";
import { $, h, clear, summary, noticeText, typeNames } from "./dom.js";
import { app, conv, addMessage, isChat, isLive } from "./state.js";
import { openChat, closeChat, appendMessage, renderHeader, refreshOnline } from "./chat.js";
import { refreshPanel, loadRequests } from "./panels.js";
import { initDialogs } from "./dialogs.js";

const netLabels = {
  [TYPES.NET_STATE_CONNECTED]: "Connected",
  [TYPES.NET_STATE_CONNECTING]: "Reconnecting…",
  [TYPES.NET_STATE_DISCONNECTED]: "Offline",
};

let toastTimer;
function toast(text, kind = "info") {
  const el = $("toast");
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 5000);
}

/** fail shows an SDK error in words. */
function fail(err) {
  toast(`${err.message || err} (code ${err.code ?? "?"})`, "error");
}

async function devToken(userID) {
  const r = await fetch(`/dev/token?userID=${encodeURIComponent(userID)}`);
  if (r.status === 404) throw Object.assign(new Error("this server is not in dev mode: paste a user signature"), { code: 70003 });
  const body = await r.json();
  if (!r.ok) throw Object.assign(new Error(body.message || "cannot get a dev token"), { code: body.code });
  return body.userSig;
}

function newClient() {
  const chat = create({
    url: "/ws",
    logLevel: 2,
    tokenRefresher: () => (app.me && !app.manualSig ? devToken(app.me) : Promise.reject(new Error("no refresher"))),
  });
  chat.on(EVENT.NET_STATE_CHANGE, (e) => {
    const el = $("net");
    el.textContent = netLabels[e.data.state] || e.data.state;
    el.dataset.state = e.data.state;
  });
  chat.on(EVENT.MESSAGE_RECEIVED, (e) => onMessages(e.data));
  chat.on(EVENT.KICKED_OUT, (e) => {
    toast(e.data.type === TYPES.KICKED_OUT_MULT_ACCOUNT ? "Signed out: you signed in somewhere else." : "Signed out by the server.", "error");
    signedOut();
  });
  chat.on(EVENT.SDK_NOT_READY, (e) => {
    // The server ended the session for good (a code in e.data); a logout
    // of ours goes through signOut instead.
    if (e.data.code && app.chat === chat) {
      toast(`Signed out by the server (close code ${e.data.code}).`, "error");
      signedOut();
    }
  });
  chat.on(EVENT.MESSAGE_GAP, (e) => toast(`Some older messages in ${groupName(e.data.groupID)} could not be recovered.`, "error"));
  chat.on(EVENT.SYNC_COMPLETED, () => refreshGroups());
  chat.on(EVENT.ERROR, (e) => fail(e.data));
  return chat;
}

const groupName = (id) => app.groups.get(id)?.name || id;

// ---- sign in / out ---------------------------------------------------------------

async function signIn(ev) {
  ev.preventDefault();
  const userID = $("signin-user").value.trim();
  const sig = $("signin-sig").value.trim();
  const button = ev.submitter || $("signin-form").querySelector("button");
  button.disabled = true;
  try {
    app.manualSig = !!sig;
    const userSig = sig || (await devToken(userID));
    app.chat ||= newClient();
    await app.chat.login({ userID, userSig });
    app.me = userID;
    showWorkspace();
    await refreshGroups();
    await loadRequests();
    if (app.live) await app.chat.joinGroup({ groupID: app.live }); // a viewer who signs in stays in the room
  } catch (err) {
    fail(err);
  } finally {
    button.disabled = false;
  }
}

async function watch(ev) {
  ev.preventDefault();
  const groupID = $("watch-room").value.trim();
  try {
    app.chat ||= newClient();
    const res = await app.chat.joinGroup({ groupID, type: TYPES.GRP_AVCHATROOM });
    app.groups.set(groupID, res.data.group || { groupID, name: groupID, type: TYPES.GRP_AVCHATROOM });
    app.live = groupID;
    showWorkspace();
    renderGroups();
    openGroup(groupID);
  } catch (err) {
    fail(err);
  }
}

async function signOut() {
  try {
    if (app.live) await app.chat.quitGroup(app.live).catch(() => {});
    if (app.me) await app.chat.logout();
  } catch (err) {
    fail(err);
  }
  signedOut();
}

function signedOut() {
  app.chat?.destroy();
  Object.assign(app, { chat: null, me: "", current: null, live: null, applications: [], panel: null });
  app.groups.clear();
  app.convs.clear();
  closeChat();
  $("workspace").hidden = true;
  $("signin").hidden = false;
  for (const id of ["me", "signout", "profile-btn"]) $(id).hidden = true;
  $("net").textContent = "Offline";
  $("signin-user").focus();
}

function showWorkspace() {
  $("signin").hidden = true;
  $("workspace").hidden = false;
  $("signout").hidden = false;
  $("signout").textContent = app.me ? "Sign out" : "Stop watching";
  $("me").hidden = false;
  $("me").textContent = app.me ? `Signed in as ${app.me}` : "Watching anonymously";
  $("profile-btn").hidden = !app.me;
  $("new-group").hidden = $("find-group").hidden = !app.me;
  $("no-groups").hidden = !app.me;
  $("groups-title").hidden = !app.me;
}

// ---- groups ------------------------------------------------------------------------

async function refreshGroups() {
  if (!app.me) return;
  try {
    const filter = [TYPES.GRP_PROFILE_OWNER_ID, TYPES.GRP_PROFILE_MEMBER_NUM, TYPES.GRP_PROFILE_JOIN_OPTION,
      TYPES.GRP_PROFILE_INTRODUCTION, TYPES.GRP_PROFILE_NOTIFICATION, TYPES.GRP_PROFILE_MUTE_ALL_MBRS];
    const { groupList } = (await app.chat.getGroupList({ groupProfileFilter: filter })).data;
    const live = app.live && app.groups.get(app.live);
    app.groups.clear();
    for (const g of groupList) app.groups.set(g.groupID, g);
    if (live) app.groups.set(app.live, live);
    if (app.current && !app.groups.has(app.current)) closeChat();
    renderGroups();
    if (app.current) renderHeader();
  } catch (err) {
    fail(err);
  }
}

function lastTime(g) {
  const c = app.convs.get(g.groupID);
  const m = c?.messages.at(-1);
  return Math.max(m?.time || 0, g.lastMessage?.lastTime || 0, g.createTime || 0);
}

function renderGroups() {
  const list = clear($("group-list"));
  const groups = [...app.groups.values()].filter((g) => !isLive(g)).sort((a, b) => lastTime(b) - lastTime(a));
  for (const g of groups) list.append(groupItem(g));
  $("no-groups").hidden = !app.me || groups.length > 0;
  const liveGroup = app.live && app.groups.get(app.live);
  $("live-entry").hidden = !liveGroup;
  clear($("live-list"));
  if (liveGroup) $("live-list").append(groupItem(liveGroup));
}

function groupItem(g) {
  const c = app.convs.get(g.groupID);
  const unread = c?.unread || 0;
  const last = c?.messages.at(-1);
  const line = last ? summary(last) : g.lastMessage?.messageForShow || "";
  const button = h("button", {
    type: "button",
    class: "group" + (unread ? " has-unread" : ""),
    "aria-current": app.current === g.groupID ? "true" : false,
    "data-group": g.groupID,
    onclick: () => openGroup(g.groupID),
  },
  h("span", { class: "group-name", text: g.name || g.groupID }),
  h("span", { class: "group-type", text: typeNames[g.type] || g.type }),
  unread ? h("span", { class: "badge", "aria-label": `${unread} unread`, text: unread > 99 ? "99+" : String(unread) }) : null,
  h("span", { class: "group-last", text: line }));
  return h("li", {}, button);
}

async function openGroup(groupID) {
  app.current = groupID;
  conv(groupID).unread = 0;
  renderGroups();
  await openChat(groupID);
}

// ---- live events ---------------------------------------------------------------------

function onMessages(list) {
  let groupsChanged = false;
  for (const m of list) {
    app.stats.received++;
    if (m.conversationType === TYPES.CONV_SYSTEM) {
      onNotice(m);
      continue;
    }
    const c = conv(m.to);
    const at = addMessage(c, m);
    if (at < 0) {
      app.stats.duplicates++;
      continue;
    }
    if (m.to === app.current) appendMessage(m, at);
    else if (isChat(m) && m.flow === "in") c.unread++;
    groupsChanged = true;
    if (m.type === TYPES.MSG_GRP_TIP) onTip(m);
  }
  if (groupsChanged) renderGroups();
}

let refreshSoon;
function onTip(m) {
  const g = app.groups.get(m.to);
  const p = m.payload;
  if (g && !isLive(g) && [1, 2, 3].includes(p.operationType)) {
    clearTimeout(refreshSoon); // member counts changed
    refreshSoon = setTimeout(refreshGroups, 300);
  }
  if (g && p.operationType === TYPES.GRP_TIP_GRP_PROFILE_UPDATED) {
    Object.assign(g, p.newGroupProfile);
    if (p.newGroupProfile.ownerID) refreshGroups();
  }
  if ((p.userIDList || []).includes(app.me) && [3, 4, 5].includes(p.operationType)) refreshGroups();
  if (m.to === app.current) {
    renderHeader();
    if (isLive(g)) refreshOnline();
    if (app.panel) refreshPanel();
  }
}

function onNotice(m) {
  const p = m.payload;
  const gid = p.groupProfile?.groupID;
  if (p.operationType !== 6 || p.operatorID !== app.me) toast(noticeText(m));
  if (p.operationType === 1) loadRequests();
  if ([4, 5, 8].includes(p.operationType)) {
    app.groups.delete(gid);
    if (app.live === gid) app.live = null;
    if (app.current === gid) closeChat();
    renderGroups();
  }
  if ([2, 6, 7, 9, 10].includes(p.operationType)) refreshGroups().then(loadRequests);
}

// ---- boot ---------------------------------------------------------------------------

Object.assign(app.actions, { openGroup, refreshGroups, renderGroups, toast, fail, signedOut, closeChat });

function boot() {
  $("signin-form").addEventListener("submit", signIn);
  $("watch-form").addEventListener("submit", watch);
  $("signout").addEventListener("click", signOut);
  const room = new URLSearchParams(location.hash.slice(1)).get("live");
  if (room) $("watch-room").value = room;
  initDialogs();
  window.chatdDemo = app; // for tests and the console
  $("signin-user").focus();
}

boot();
