// The demo's state, shared by its modules. main.js fills app.actions with
// the functions other modules call back (openGroup, toast, …).
import { TYPES } from "/sdk/chat.js";

export const app = {
  chat: null, // the SDK client
  me: "", // logged-in userID; "" when watching anonymously
  groups: new Map(), // groupID → Group (getGroupList, joins, the live room)
  convs: new Map(), // groupID → Conversation
  current: null, // open groupID
  live: null, // groupID of the live room this page is in
  applications: [],
  panel: null, // "members" | "settings" | null
  // For tests and the curious: messages the SDK delivered that the page
  // already had (the SDK's de-duplication makes this 0).
  stats: { received: 0, duplicates: 0 },
  actions: {},
};

/** A Conversation is a group's messages as the page shows them. */
export function conv(groupID) {
  let c = app.convs.get(groupID);
  if (!c) {
    c = { messages: [], keys: new Set(), nextReq: "", completed: false, loaded: false, unread: 0 };
    app.convs.set(groupID, c);
  }
  return c;
}

export const msgKey = (m) => (m.sequence > 0 ? `${m.conversationID}#${m.sequence}` : `id:${m.ID}`);

/**
 * addMessage puts m into its conversation in sequence order and reports
 * where, or -1 when the page had it already.
 */
export function addMessage(c, m) {
  const key = msgKey(m);
  if (c.keys.has(key)) return -1;
  c.keys.add(key);
  let i = c.messages.length;
  if (m.sequence > 0) {
    while (i > 0 && (c.messages[i - 1].sequence === 0 || c.messages[i - 1].sequence > m.sequence)) {
      if (c.messages[i - 1].sequence === 0 && c.messages[i - 1].time <= m.time) break;
      i--;
    }
  }
  c.messages.splice(i, 0, m);
  return i;
}

export const isChat = (m) => m.type === TYPES.MSG_TEXT || m.type === TYPES.MSG_CUSTOM;
export const isLive = (g) => g?.type === TYPES.GRP_AVCHATROOM;
export const myRole = (g) => g?.selfInfo?.role || (g?.ownerID && g.ownerID === app.me ? TYPES.GRP_MBR_ROLE_OWNER : "");
