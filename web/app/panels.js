// The side panel (members with their management actions; group settings)
// and the join-request list in the sidebar.
import { TYPES } from "/sdk/chat.js";
import { $, h, clear, fmtTime, typeNames } from "./dom.js";
import { app, isLive, myRole } from "./state.js";

const { GRP_MBR_ROLE_OWNER: OWNER, GRP_MBR_ROLE_ADMIN: ADMIN, GRP_MBR_ROLE_MEMBER: MEMBER } = TYPES;
const rank = { [OWNER]: 3, [ADMIN]: 2, [MEMBER]: 1 };

export function openPanel(kind) {
  app.panel = kind;
  $("panel").hidden = false;
  document.body.classList.add("with-panel");
  for (const id of ["members-btn", "settings-btn"]) $(id).setAttribute("aria-expanded", "false");
  $(kind === "members" ? "members-btn" : "settings-btn").setAttribute("aria-expanded", "true");
  refreshPanel().then(() => $("panel-close").focus());
}

export function closePanel() {
  const wasOpen = !!app.panel;
  app.panel = null;
  $("panel").hidden = true;
  document.body.classList.remove("with-panel");
  for (const id of ["members-btn", "settings-btn"]) $(id).setAttribute("aria-expanded", "false");
  if (wasOpen && !$("chat").hidden) $("composer-text").focus();
}

export async function refreshPanel() {
  const g = app.groups.get(app.current);
  if (!g || !app.panel) return;
  if (app.panel === "members") await renderMembers(g);
  else renderSettings(g);
}

// run does one SDK call with the usual error handling and refresh.
async function run(what, fn, { refreshGroups = false } = {}) {
  try {
    await fn();
    app.actions.toast(what);
    if (refreshGroups) await app.actions.refreshGroups();
    await refreshPanel();
  } catch (err) {
    app.actions.fail(err);
  }
}

// ---- members ---------------------------------------------------------------------

let renderToken = 0;

async function renderMembers(g) {
  const token = ++renderToken; // a newer refresh wins over one still loading
  let members;
  let error;
  try {
    members = (await app.chat.getGroupMemberList({ groupID: g.groupID, count: 100 })).data.memberList;
  } catch (err) {
    error = err;
  }
  if (token !== renderToken || g.groupID !== app.current || app.panel !== "members") return;
  $("panel-title").textContent = isLive(g) ? "Online members" : "Members";
  const body = clear($("panel-body"));
  if (error) {
    body.append(h("p", { class: "hint", text: `Cannot list members: ${error.message}` }));
    return;
  }
  if (canInvite(g)) body.append(inviteForm(g));
  const ul = h("ul", { class: "member-list", "aria-label": "Members" });
  for (const m of members) ul.append(memberItem(g, m));
  body.append(ul);
}

function canInvite(g) {
  return g.type === TYPES.GRP_WORK;
}

function inviteForm(g) {
  const input = h("input", { id: "invite-ids", placeholder: "bob, carol", required: true });
  return h("form", {
    class: "inline-form",
    onsubmit: (e) => {
      e.preventDefault();
      const ids = input.value.split(/[\s,]+/).filter(Boolean);
      run(`Invited ${ids.join(", ")}`, () => app.chat.addGroupMember({ groupID: g.groupID, userIDList: ids }), { refreshGroups: true });
    },
  }, h("label", { for: "invite-ids", text: "Invite user IDs" }), input, h("button", { type: "submit", text: "Invite" }));
}

function memberItem(g, m) {
  const mine = myRole(g);
  const self = m.userID === app.me;
  const above = (rank[mine] || 0) > (rank[m.role] || 0);
  const live = isLive(g);
  const muted = m.muteUntil > Date.now() / 1000;
  const name = m.nameCard || m.nick || m.userID;
  const actions = [];
  const act = (label, what, fn, opts) => actions.push(h("button", { type: "button", class: "small", onclick: () => run(what, fn, opts), text: label, "aria-label": `${label}: ${m.userID}` }));
  const gid = g.groupID;

  const canMute = !self && above && g.type !== TYPES.GRP_WORK && (!live || mine === OWNER);
  if (canMute) {
    if (muted) act("Unmute", `Unmuted ${m.userID}`, () => app.chat.setGroupMemberMuteTime({ groupID: gid, userID: m.userID, muteTime: 0 }));
    else act("Mute 10 min", `Muted ${m.userID}`, () => app.chat.setGroupMemberMuteTime({ groupID: gid, userID: m.userID, muteTime: 600 }));
  }
  const canKick = !self && above && !live && (g.type !== TYPES.GRP_WORK || mine === OWNER);
  if (canKick) {
    actions.push(h("button", { type: "button", class: "small danger", "aria-label": `Remove: ${m.userID}`, text: "Remove",
      onclick: () => confirm(`Remove ${m.userID} from the group?`) &&
        run(`Removed ${m.userID}`, () => app.chat.deleteGroupMember({ groupID: gid, userIDList: [m.userID] }), { refreshGroups: true }) }));
  }
  if (!self && mine === OWNER && (g.type === TYPES.GRP_PUBLIC || g.type === TYPES.GRP_MEETING)) {
    if (m.role === ADMIN) act("Remove admin", `${m.userID} is a member again`, () => app.chat.setGroupMemberRole({ groupID: gid, userID: m.userID, role: MEMBER }));
    else act("Make admin", `${m.userID} is an admin now`, () => app.chat.setGroupMemberRole({ groupID: gid, userID: m.userID, role: ADMIN }));
  }
  if (!self && mine === OWNER && !live) {
    actions.push(h("button", { type: "button", class: "small", "aria-label": `Make owner: ${m.userID}`, text: "Make owner",
      onclick: () => confirm(`Hand the group to ${m.userID}? You will be an ordinary member.`) &&
        run(`${m.userID} owns the group now`, () => app.chat.changeGroupOwner({ groupID: gid, newOwnerID: m.userID }), { refreshGroups: true }) }));
  }
  const canCard = !live && (self || mine === OWNER || (mine === ADMIN && m.role === MEMBER));
  const li = h("li", { class: "member", "data-user": m.userID },
    h("div", { class: "member-head" },
      h("span", { class: "member-name", text: name }),
      name !== m.userID ? h("span", { class: "hint", text: m.userID }) : null,
      h("span", { class: `role role-${m.role.toLowerCase()}`, text: m.role }),
      muted ? h("span", { class: "muted-mark", text: `muted until ${fmtTime(m.muteUntil)}` }) : null),
    actions.length ? h("div", { class: "member-actions" }, actions) : null);
  if (canCard) li.append(nameCardForm(gid, m));
  return li;
}

function nameCardForm(groupID, m) {
  const id = `card-${m.userID.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  const input = h("input", { id, value: m.nameCard, maxlength: 50, placeholder: "name card" });
  return h("form", {
    class: "inline-form small-form",
    onsubmit: (e) => {
      e.preventDefault();
      run("Name card saved", () => app.chat.setGroupMemberNameCard({ groupID, userID: m.userID, nameCard: input.value }));
    },
  }, h("label", { for: id, text: `Name card of ${m.userID}` }), input, h("button", { type: "submit", class: "small", text: "Save" }));
}

// ---- settings ---------------------------------------------------------------------

function field(id, label, input) {
  input.id = id;
  return [h("label", { for: id, text: label }), input];
}

function renderSettings(g) {
  renderToken++;
  $("panel-title").textContent = "Group";
  const body = clear($("panel-body"));
  const role = myRole(g);
  body.append(h("dl", { class: "facts" },
    h("dt", { text: "Group ID" }), h("dd", {}, h("code", { text: g.groupID })),
    h("dt", { text: "Type" }), h("dd", { text: typeNames[g.type] || g.type }),
    g.ownerID !== undefined ? [h("dt", { text: "Owner" }), h("dd", { text: g.ownerID || "none" })] : null,
    g.introduction ? [h("dt", { text: "About" }), h("dd", { text: g.introduction })] : null,
    g.notification ? [h("dt", { text: "Notice" }), h("dd", { text: g.notification })] : null));
  if (!app.me) return;

  const editable = g.type === TYPES.GRP_WORK || (isLive(g) ? role === OWNER : role === OWNER || role === ADMIN);
  if (editable) body.append(profileForm(g, role));
  if (!isLive(g)) body.append(remindForm(g));

  const leave = [];
  if (!(role === OWNER && g.type !== TYPES.GRP_WORK)) {
    leave.push(h("button", { type: "button", class: "secondary", text: isLive(g) ? "Leave the room" : "Leave the group",
      onclick: () => confirm(`Leave ${g.name}?`) && run("You left the group", async () => {
        await app.chat.quitGroup(g.groupID);
        if (app.live === g.groupID) app.live = null;
        app.groups.delete(g.groupID);
        app.actions.closeChat();
      }, { refreshGroups: true }) }));
  }
  if (role === OWNER && g.type !== TYPES.GRP_WORK) {
    leave.push(h("button", { type: "button", class: "danger", text: "Dismiss the group",
      onclick: () => confirm(`Dismiss ${g.name} for everyone?`) && run("Group dismissed", async () => {
        await app.chat.dismissGroup(g.groupID);
        if (app.live === g.groupID) app.live = null;
        app.groups.delete(g.groupID);
        app.actions.closeChat();
      }, { refreshGroups: true }) }));
  }
  body.append(h("div", { class: "danger-zone" }, leave));
}

function profileForm(g, role) {
  const name = h("input", { value: g.name || "", maxlength: 30, required: true });
  const intro = h("textarea", { maxlength: 240, rows: 2 });
  intro.value = g.introduction || "";
  const notice = h("textarea", { maxlength: 300, rows: 2 });
  notice.value = g.notification || "";
  const join = h("select", {}, ...["FreeAccess", "NeedPermission", "DisableApply"].map((v) =>
    h("option", { value: v, selected: g.joinOption === v, text: { FreeAccess: "Anyone", NeedPermission: "Ask an admin", DisableApply: "Nobody" }[v] })));
  const muteAll = h("input", { type: "checkbox", checked: !!g.muteAllMembers });
  const form = h("form", {
    class: "stack",
    "aria-label": "Group profile",
    onsubmit: (e) => {
      e.preventDefault();
      const change = { groupID: g.groupID };
      if (name.value !== g.name) change.name = name.value;
      if (intro.value !== (g.introduction || "")) change.introduction = intro.value;
      if (notice.value !== (g.notification || "")) change.notification = notice.value;
      if (g.type === TYPES.GRP_PUBLIC && join.value !== g.joinOption) change.joinOption = join.value;
      if (g.type !== TYPES.GRP_WORK && role === OWNER && muteAll.checked !== !!g.muteAllMembers) change.muteAllMembers = muteAll.checked;
      run("Group saved", () => app.chat.updateGroupProfile(change), { refreshGroups: true });
    },
  },
  h("h3", { text: "Profile" }),
  field("set-name", "Name", name),
  field("set-intro", "Introduction", intro),
  field("set-notice", "Notice", notice),
  g.type === TYPES.GRP_PUBLIC ? field("set-join", "Who may join", join) : null,
  g.type !== TYPES.GRP_WORK && role === OWNER ? h("label", { class: "check", for: "set-muteall" }, muteAll, " Mute everyone but the owner") : null,
  h("button", { type: "submit", text: "Save" }));
  muteAll.id = "set-muteall";
  return form;
}

function remindForm(g) {
  const select = h("select", { id: "set-remind" }, ...[
    [TYPES.MSG_REMIND_ACPT_AND_NOTE, "Receive and notify"],
    [TYPES.MSG_REMIND_ACPT_NOT_NOTE, "Receive quietly"],
    [TYPES.MSG_REMIND_DISCARD, "Do not deliver"],
  ].map(([v, t]) => h("option", { value: v, selected: g.selfInfo?.messageRemindType === v, text: t })));
  select.addEventListener("change", () =>
    run("Notifications saved", () => app.chat.setMessageRemindType({ groupID: g.groupID, messageRemindType: select.value }), { refreshGroups: true }));
  return h("div", { class: "stack" }, h("h3", { text: "Notifications" }), h("label", { for: "set-remind", text: "Messages of this group" }), select);
}

// ---- join requests ------------------------------------------------------------------

export async function loadRequests() {
  if (!app.me) return;
  try {
    app.applications = (await app.chat.getGroupApplicationList()).data.applicationList;
  } catch (err) {
    app.actions.fail(err);
    return;
  }
  const ul = clear($("request-list"));
  for (const a of app.applications) {
    const gname = app.groups.get(a.groupID)?.name || a.groupID;
    const handle = (action) => async () => {
      try {
        await app.chat.handleGroupApplication({ handleAction: action, groupID: a.groupID, applicant: a.applicant });
        app.actions.toast(action === "Agree" ? `${a.applicant} joined ${gname}` : `Declined ${a.applicant}`);
      } catch (err) {
        app.actions.fail(err);
      }
      await loadRequests();
      await app.actions.refreshGroups();
    };
    ul.append(h("li", { class: "request", "data-applicant": a.applicant },
      h("p", {}, h("strong", { text: a.applicant }), ` wants to join ${gname}`),
      a.applyMessage ? h("p", { class: "hint", text: `“${a.applyMessage}”` }) : null,
      h("div", { class: "member-actions" },
        h("button", { type: "button", class: "small", text: "Approve", "aria-label": `Approve ${a.applicant}`, onclick: handle("Agree") }),
        h("button", { type: "button", class: "small secondary", text: "Reject", "aria-label": `Reject ${a.applicant}`, onclick: handle("Reject") }))));
  }
  $("requests").hidden = app.applications.length === 0;
}

