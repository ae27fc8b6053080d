// DOM helpers for the demo. User data reaches the page only as text:
// h() turns string children into text nodes and sets attributes one by
// one; nothing here (or anywhere in the demo) assigns innerHTML.
import { TYPES } from "/sdk/chat.js";

export const $ = (id) => document.getElementById(id);

/**
 * h builds an element. attrs: "class", "text" (textContent), "on<event>"
 * handlers, booleans (set when true), anything else as an attribute.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

export const typeNames = {
  [TYPES.GRP_WORK]: "Work",
  [TYPES.GRP_PUBLIC]: "Public",
  [TYPES.GRP_MEETING]: "Meeting",
  [TYPES.GRP_AVCHATROOM]: "Live room",
};

export function fmtTime(sec) {
  if (!sec) return "";
  const d = new Date(sec * 1000);
  const now = new Date();
  const sameDay = d.toDateString() === now.toDateString();
  return sameDay ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : d.toLocaleString([], { dateStyle: "short", timeStyle: "short" });
}

const list = (ids) => (ids || []).join(", ");

/** tipText describes a group tip in words. */
export function tipText(m) {
  const p = m.payload || {};
  const op = p.operatorID;
  switch (p.operationType) {
    case TYPES.GRP_TIP_MBR_JOIN:
      return op && !(p.userIDList || []).includes(op) ? `${list(p.userIDList)} joined (added by ${op})` : `${list(p.userIDList)} joined`;
    case TYPES.GRP_TIP_MBR_QUIT:
      return `${list(p.userIDList)} left`;
    case TYPES.GRP_TIP_MBR_KICKED_OUT:
      return `${op} removed ${list(p.userIDList)}`;
    case TYPES.GRP_TIP_MBR_SET_ADMIN:
      return `${op} made ${list(p.userIDList)} an admin`;
    case TYPES.GRP_TIP_MBR_CANCELED_ADMIN:
      return `${op} removed admin rights from ${list(p.userIDList)}`;
    case TYPES.GRP_TIP_GRP_PROFILE_UPDATED: {
      const g = p.newGroupProfile || {};
      if (g.ownerID) return `${op} handed the group to ${g.ownerID}`;
      const parts = Object.keys(g).map((k) => (k === "muteAllMembers" ? (g[k] ? "muted everyone" : "unmuted everyone") : `changed the ${k}`));
      return `${op} ${parts.join(", ") || "updated the group"}`;
    }
    case TYPES.GRP_TIP_MBR_PROFILE_UPDATED:
      return (p.memberList || []).map((x) => (x.muteTime > 0 ? `${op} muted ${x.userID} for ${duration(x.muteTime)}` : `${op} unmuted ${x.userID}`)).join("; ");
    default:
      return "group updated";
  }
}

/** noticeText describes a group system notice in words. */
export function noticeText(m) {
  const p = m.payload || {};
  const g = p.groupProfile?.name || p.groupProfile?.groupID || "a group";
  switch (p.operationType) {
    case 1: return `${p.operatorID} asks to join ${g}`;
    case 2: return `You may now chat in ${g}`;
    case 3: return `Your request to join ${g} was declined${p.handleMessage ? ": " + p.handleMessage : ""}`;
    case 4: return `You were removed from ${g}${p.handleMessage ? ": " + p.handleMessage : ""}`;
    case 5: return `${g} was dismissed`;
    case 6: return `You created ${g}`;
    case 7: return `You were added to ${g}`;
    case 8: return `You left ${g}`;
    case 9: return `You are now an admin of ${g}`;
    case 10: return `You are no longer an admin of ${g}`;
    default: return `Notice about ${g}`;
  }
}

export function duration(s) {
  if (s >= 86400) return `${Math.round(s / 86400)} d`;
  if (s >= 3600) return `${Math.round(s / 3600)} h`;
  if (s >= 60) return `${Math.round(s / 60)} min`;
  return `${s} s`;
}

/** showForShort is the one-line summary of a message for the group list. */
export function summary(m) {
  if (!m) return "";
  if (m.type === TYPES.MSG_TEXT) return `${m.nameCard || m.nick || m.from}: ${m.payload.text}`;
  if (m.type === TYPES.MSG_CUSTOM) return `${m.from}: ${m.payload.description || "[custom message]"}`;
  if (m.type === TYPES.MSG_GRP_TIP) return tipText(m);
  return "";
}
