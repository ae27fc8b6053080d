// Dialogs: create a group, find and join one, edit my profile.
import { TYPES } from "/sdk/chat.js";
import { $, h, clear, typeNames } from "./dom.js";
import { app, isLive } from "./state.js";

function open(id) {
  const d = $(id);
  d.showModal();
  d.querySelector("input, select")?.focus();
}

function closeOn(d) {
  for (const b of d.querySelectorAll("[data-close]")) b.addEventListener("click", () => d.close());
}

async function createGroup(ev) {
  ev.preventDefault();
  const f = new FormData($("create-form"));
  const type = f.get("type");
  const opts = { name: String(f.get("name")).trim(), type };
  if (f.get("groupID")) opts.groupID = String(f.get("groupID")).trim();
  if (f.get("introduction")) opts.introduction = String(f.get("introduction"));
  if (type === TYPES.GRP_PUBLIC) opts.joinOption = f.get("joinOption");
  const members = String(f.get("members") || "").split(/[\s,]+/).filter(Boolean);
  if (members.length && type === TYPES.GRP_WORK) opts.memberList = members.map((userID) => ({ userID }));
  try {
    const { group } = (await app.chat.createGroup(opts)).data;
    $("create-dialog").close();
    $("create-form").reset();
    syncCreateFields();
    if (isLive(group)) {
      await app.chat.joinGroup({ groupID: group.groupID }); // the owner's socket joins to send
      app.live = group.groupID;
      app.groups.set(group.groupID, group);
    } else {
      await app.actions.refreshGroups();
      if (!app.groups.has(group.groupID)) app.groups.set(group.groupID, group);
    }
    app.actions.renderGroups();
    app.actions.toast(`Created ${group.name} (${group.groupID})`);
    await app.actions.openGroup(group.groupID);
  } catch (err) {
    app.actions.fail(err);
  }
}

function syncCreateFields() {
  const type = $("create-type").value;
  $("create-join").disabled = type !== TYPES.GRP_PUBLIC;
  $("create-members").disabled = type !== TYPES.GRP_WORK;
}

async function find(ev) {
  ev.preventDefault();
  const groupID = $("find-id").value.trim();
  const out = clear($("find-result"));
  try {
    const { group } = (await app.chat.searchGroupByID(groupID)).data;
    out.append(result(group));
    out.querySelector("button, input")?.focus();
  } catch (err) {
    out.append(h("p", { class: "hint", text: err.code === 10010 ? `No group ${groupID} (Work groups cannot be found).` : err.message }));
  }
}

function result(g) {
  const facts = [typeNames[g.type], g.memberNum !== undefined && !isLive(g) ? `${g.memberNum} members` : null, g.joinOption === "NeedPermission" ? "approval needed" : null]
    .filter(Boolean).join(" · ");
  const note = h("input", { id: "find-note", maxlength: 300, placeholder: "Hello! (optional)" });
  const ask = g.joinOption === TYPES.JOIN_OPTIONS_NEED_PERMISSION;
  return h("div", { class: "card" },
    h("h3", { text: g.name }),
    h("p", { class: "hint", text: facts }),
    g.introduction ? h("p", { text: g.introduction }) : null,
    ask ? [h("label", { for: "find-note", text: "Message to the admins" }), note] : null,
    g.joinOption === TYPES.JOIN_OPTIONS_DISABLE_APPLY ? h("p", { class: "hint", text: "This group takes no requests." }) :
      h("button", { type: "button", text: isLive(g) ? "Enter the room" : ask ? "Ask to join" : "Join", onclick: () => join(g, note.value) }));
}

async function join(g, applyMessage) {
  try {
    const opts = { groupID: g.groupID };
    if (applyMessage) opts.applyMessage = applyMessage;
    const res = await app.chat.joinGroup(opts);
    $("find-dialog").close();
    if (res.data.status === TYPES.JOIN_STATUS_WAIT_APPROVAL) {
      app.actions.toast(`Asked to join ${g.name}; an admin will decide.`);
      return;
    }
    if (isLive(g)) {
      app.live = g.groupID;
      app.groups.set(g.groupID, res.data.group || g);
      app.actions.renderGroups();
    } else {
      await app.actions.refreshGroups();
    }
    await app.actions.openGroup(g.groupID);
  } catch (err) {
    app.actions.fail(err);
  }
}

async function openProfile() {
  try {
    const { profile } = (await app.chat.getMyProfile()).data;
    $("profile-nick").value = profile.nick;
    $("profile-avatar").value = profile.avatar;
    open("profile-dialog");
  } catch (err) {
    app.actions.fail(err);
  }
}

async function saveProfile(ev) {
  ev.preventDefault();
  try {
    await app.chat.updateMyProfile({ nick: $("profile-nick").value, avatar: $("profile-avatar").value });
    $("profile-dialog").close();
    app.actions.toast("Profile saved");
  } catch (err) {
    app.actions.fail(err);
  }
}

export function initDialogs() {
  for (const id of ["create-dialog", "find-dialog", "profile-dialog"]) closeOn($(id));
  $("new-group").addEventListener("click", () => open("create-dialog"));
  $("find-group").addEventListener("click", () => {
    clear($("find-result"));
    open("find-dialog");
  });
  $("profile-btn").addEventListener("click", openProfile);
  $("create-form").addEventListener("submit", createGroup);
  $("create-type").addEventListener("change", syncCreateFields);
  $("find-form").addEventListener("submit", find);
  $("profile-form").addEventListener("submit", saveProfile);
  syncCreateFields();
}
