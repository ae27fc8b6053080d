// chatd browser SDK: one ES module, no build step, no dependencies.
//
//   import { create, TYPES, EVENT } from "/sdk/chat.js";
//   const chat = create({ url: "wss://chat.example.com/ws" });
//   chat.on(EVENT.MESSAGE_RECEIVED, (event) => show(event.data));
//   await chat.login({ userID: "alice", userSig });
//
// Method names, argument shapes, constants and event names are those of the
// TIM Web SDK v2 group API; every method returns a Promise that resolves to
// {code: 0, data} and rejects with a ChatError {code, message}. The wire
// protocol and the reconnect-and-recovery rules this file implements are in
// PROTOCOL.md; the behaviour of each operation is in SPEC.md.

/** TIM.TYPES: the constant values of the TIM Web SDK v2. */
export const TYPES = Object.freeze({
  MSG_TEXT: "TIMTextElem",
  MSG_CUSTOM: "TIMCustomElem",
  MSG_GRP_TIP: "TIMGroupTipElem",
  MSG_GRP_SYS_NOTICE: "TIMGroupSystemNoticeElem",
  MSG_PRIORITY_HIGH: "High",
  MSG_PRIORITY_NORMAL: "Normal",
  MSG_PRIORITY_LOW: "Low",
  MSG_PRIORITY_LOWEST: "Lowest",
  CONV_C2C: "C2C",
  CONV_GROUP: "GROUP",
  CONV_SYSTEM: "@TIM#SYSTEM",
  GRP_PRIVATE: "Private",
  GRP_WORK: "Private",
  GRP_PUBLIC: "Public",
  GRP_CHATROOM: "ChatRoom",
  GRP_MEETING: "ChatRoom",
  GRP_AVCHATROOM: "AVChatRoom",
  GRP_MBR_ROLE_OWNER: "Owner",
  GRP_MBR_ROLE_ADMIN: "Admin",
  GRP_MBR_ROLE_MEMBER: "Member",
  GRP_TIP_MBR_JOIN: 1,
  GRP_TIP_MBR_QUIT: 2,
  GRP_TIP_MBR_KICKED_OUT: 3,
  GRP_TIP_MBR_SET_ADMIN: 4,
  GRP_TIP_MBR_CANCELED_ADMIN: 5,
  GRP_TIP_GRP_PROFILE_UPDATED: 6,
  GRP_TIP_MBR_PROFILE_UPDATED: 7,
  MSG_REMIND_ACPT_AND_NOTE: "AcceptAndNotify",
  MSG_REMIND_ACPT_NOT_NOTE: "AcceptNotNotify",
  MSG_REMIND_DISCARD: "Discard",
  KICKED_OUT_MULT_ACCOUNT: "multipleAccount",
  KICKED_OUT_MULT_DEVICE: "multipleDevice",
  KICKED_OUT_USERSIG_EXPIRED: "userSigExpired",
  KICKED_OUT_REST_API: "REST_API_Kick",
  JOIN_OPTIONS_FREE_ACCESS: "FreeAccess",
  JOIN_OPTIONS_NEED_PERMISSION: "NeedPermission",
  JOIN_OPTIONS_DISABLE_APPLY: "DisableApply",
  JOIN_STATUS_SUCCESS: "JoinedSuccess",
  JOIN_STATUS_ALREADY_IN_GROUP: "AlreadyInGroup",
  JOIN_STATUS_WAIT_APPROVAL: "WaitAdminApproval",
  GRP_PROFILE_OWNER_ID: "ownerID",
  GRP_PROFILE_CREATE_TIME: "createTime",
  GRP_PROFILE_LAST_INFO_TIME: "lastInfoTime",
  GRP_PROFILE_MEMBER_NUM: "memberNum",
  GRP_PROFILE_MAX_MEMBER_NUM: "maxMemberNum",
  GRP_PROFILE_JOIN_OPTION: "joinOption",
  GRP_PROFILE_INTRODUCTION: "introduction",
  GRP_PROFILE_NOTIFICATION: "notification",
  GRP_PROFILE_MUTE_ALL_MBRS: "muteAllMembers",
  NET_STATE_CONNECTED: "connected",
  NET_STATE_CONNECTING: "connecting",
  NET_STATE_DISCONNECTED: "disconnected",
});

/** TIM.EVENT: TIM's event names, plus two of chatd's own (marked). */
export const EVENT = Object.freeze({
  SDK_READY: "sdkStateReady",
  SDK_NOT_READY: "sdkStateNotReady",
  MESSAGE_RECEIVED: "onMessageReceived",
  GROUP_SYSTEM_NOTICE_RECEIVED: "receiveGroupSystemNotice",
  KICKED_OUT: "kickedOut",
  ERROR: "error",
  NET_STATE_CHANGE: "netStateChange",
  // chatd's own: recovery after a reconnect or resync push has finished.
  SYNC_COMPLETED: "syncCompleted",
  // chatd's own: messages older than the group's retention were missed.
  MESSAGE_GAP: "messageGap",
});

/** Error codes the SDK makes itself (the server's are in SPEC.md §7). */
export const ERROR_CODE = Object.freeze({
  NETWORK: 2800, // not connected, or the connection closed before the reply
  TIMEOUT: 2801, // no reply within requestTimeout
  INVALID_PARAMETER: 10004,
});

/** ChatError is what every method rejects with: {code, message}. */
export class ChatError extends Error {
  constructor(code, message, data) {
    super(message);
    this.name = "ChatError";
    this.code = code;
    if (data !== undefined) this.data = data;
  }
}

const LOG_NAMES = ["debug", "info", "warn", "error"];
const BACKOFF_START_MS = 500; // PROTOCOL.md: start 0.5 s
const BACKOFF_CAP_MS = 20000; // cap 20 s
const PACE_MS = 25; // recovery requests at most 40/s, under the 50/s limit
const SEEN_LIMIT = 20000; // remembered message keys for de-duplication
const NOTICE_SLACK_S = 2; // seconds of notices re-read around a disconnect
const NOTICE_PAGES = 10; // at most 150 notices read back on a recovery
const GAP_WAIT_MS = 1000; // a hole in a group's live sequence waits this long before a sync

// Ops whose request may be sent again after a reconnect: reads, and
// sendMessage, whose client-made ID makes it idempotent.
const RETRY_OPS = new Set(["sendMessage", "getGroupList", "getGroupProfile", "searchGroupByID",
  "getGroupApplicationList", "getGroupMemberList", "getGroupMemberProfile",
  "getGroupOnlineMemberCount", "getMyProfile", "getMessageList", "syncMessages", "ping"]);

/**
 * terminal reports whether a close code forbids reconnecting without a
 * change (PROTOCOL.md): 4500-4999 and 1009.
 */
export function isTerminalClose(code) {
  return code === 1009 || (code >= 4500 && code <= 4999);
}

/**
 * backoffDelay is the wait before reconnect attempt n (0-based):
 * exponential backoff with full jitter, from 0.5 s up to a 20 s cap.
 */
export function backoffDelay(n, random = Math.random) {
  return random() * Math.min(BACKOFF_CAP_MS, BACKOFF_START_MS * 2 ** Math.min(n, 30));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const GROUP_PREFIX = TYPES.CONV_GROUP;

function wsURL(url) {
  const loc = globalThis.location;
  if (!url) {
    if (!loc) throw new ChatError(ERROR_CODE.INVALID_PARAMETER, "create: url is required outside a browser");
    url = "/ws";
  }
  if (loc && !/^[a-z]+:/i.test(url)) url = new URL(url, loc.href).href;
  return url.replace(/^http(s?):/i, "ws$1:");
}

/** create returns a new client; see the README for the options. */
export function create(options = {}) {
  return new ChatClient(options);
}

/**
 * ChatClient is one connection to chatd with TIM's group API. It keeps
 * what it needs to recover: the login, the live room it is in, the last
 * sequence seen per group and the keys of recent messages.
 */
export class ChatClient {
  constructor(options = {}) {
    this._url = wsURL(options.url);
    this._WebSocket = options.WebSocket || globalThis.WebSocket;
    if (typeof this._WebSocket !== "function") {
      throw new ChatError(ERROR_CODE.INVALID_PARAMETER, "create: no WebSocket; pass options.WebSocket (in Node: the ws package)");
    }
    this._logLevel = options.logLevel ?? 1;
    this._tokenRefresher = options.tokenRefresher || null;
    this._timeoutMs = options.requestTimeout ?? 15000;
    this._heartbeatMs = options.heartbeatInterval ?? 25000;
    this._maxFrameBytes = options.maxFrameBytes ?? 65536; // CHAT_MAX_FRAME_BYTES
    this._listeners = new Map();
    this._netState = TYPES.NET_STATE_DISCONNECTED;
    this._ws = null;
    this._ready = false; // the socket is open and logged in / rejoined again
    this._nextID = 1;
    this._pending = new Map(); // id → request awaiting its reply
    this._waiting = []; // requests awaiting a ready socket
    this._attempt = 0; // reconnect attempts since the last ready socket
    this._reconnectTimer = null;
    this._blocked = 0; // terminal close code that stops every reconnect
    this._everReady = false;
    this._epoch = 0; // bumped on every socket loss
    this._user = null; // {userID, userSig} once logged in
    this._expireTime = 0;
    this._refreshTimer = null;
    this._live = null; // {groupID} of the live room this client is in
    this._groups = new Map(); // groupID → {hw, above:Set, discard}
    this._seen = new Map(); // recent message keys (insertion ordered)
    this._ownSending = new Set(); // IDs of this client's sends in flight
    this._recovering = false;
    this._recoverAgain = null;
    this._buffer = null;
    this._serverTime = 0;
    this._noticeFloor = null;
    this._nextPaceAt = 0;
    this._msgSeq = 0;
    this._destroyed = false;
    this._heartbeatTimer = null;
    this._gapTimers = new Map(); // groupID → timer of a pending gap fill
    this._onOnline = () => this._reconnectNow();
    globalThis.addEventListener?.("online", this._onOnline);
  }

  // ---- events -------------------------------------------------------

  /** on adds a listener; it is called with {name, data}. */
  on(name, fn, context) {
    if (!this._listeners.has(name)) this._listeners.set(name, new Map());
    this._listeners.get(name).set(fn, context);
  }

  /** off removes a listener added with on. */
  off(name, fn) {
    this._listeners.get(name)?.delete(fn);
  }

  _emit(name, data) {
    for (const [fn, ctx] of [...(this._listeners.get(name) || [])]) {
      try {
        fn.call(ctx, { name, data });
      } catch (err) {
        this._log(3, `listener of ${name} threw`, err);
      }
    }
  }

  /** setLogLevel: 0 debug, 1 info, 2 warn, 3 error, 4 none. */
  setLogLevel(level) {
    this._logLevel = level;
  }

  _log(level, ...args) {
    if (level >= this._logLevel && level < 4) console[LOG_NAMES[level]]("[chatd]", ...args);
  }

  _setNetState(state) {
    if (state === this._netState) return;
    this._netState = state;
    this._emit(EVENT.NET_STATE_CHANGE, { state });
  }

  /** getNetState returns TYPES.NET_STATE_*. */
  getNetState() {
    return this._netState;
  }

  /** isReady reports whether the client is logged in. */
  isReady() {
    return this._user !== null;
  }

  /** getLoginUser returns the logged-in userID, or "". */
  getLoginUser() {
    return this._user?.userID || "";
  }

  // ---- connection -----------------------------------------------------

  _connect() {
    if (this._ws || this._destroyed) return;
    clearTimeout(this._reconnectTimer);
    this._reconnectTimer = null;
    this._setNetState(TYPES.NET_STATE_CONNECTING);
    let ws;
    try {
      ws = new this._WebSocket(this._url);
    } catch (err) {
      this._log(3, "cannot open the WebSocket", err);
      this._failWaiting(ERROR_CODE.NETWORK, `cannot open ${this._url}: ${err.message}`);
      this._setNetState(TYPES.NET_STATE_DISCONNECTED);
      return;
    }
    this._ws = ws;
    ws.onopen = () => this._onOpen(ws);
    ws.onmessage = (ev) => this._onFrame(ws, ev.data);
    ws.onclose = (ev) => this._onClose(ws, ev.code, ev.reason);
    ws.onerror = () => {}; // a close event follows
  }

  async _onOpen(ws) {
    if (ws !== this._ws) return;
    this._log(0, "connected", this._url);
    const reconnect = this._everReady;
    const epoch = this._epoch;
    // Pushes that arrive before recovery starts wait for it too.
    if (reconnect && this._user && !this._buffer) this._buffer = [];
    try {
      if (this._user) await this._relogin();
      if (this._live && reconnect) await this._rejoinLive();
    } catch (err) {
      if (!this._recovering) this._flushBuffer(false);
      if (epoch !== this._epoch) return; // the socket is gone already
      this._log(2, "relogin failed", err);
      this._emit(EVENT.ERROR, { code: err.code, message: err.message });
      if (err.code === 70001 || err.code === 70003) {
        this._endSession(err.code);
      } else {
        this._dropSocket(ws, 4000, "relogin failed"); // e.g. 10002: retry later
      }
      return;
    }
    if (epoch !== this._epoch) return;
    this._ready = true;
    this._everReady = true;
    this._attempt = 0;
    this._setNetState(TYPES.NET_STATE_CONNECTED);
    this._startHeartbeat(ws);
    const waiting = this._waiting;
    this._waiting = [];
    for (const req of waiting) this._transmit(req);
    if (reconnect && this._user) this._recover([]);
  }

  // _relogin logs in again on a new socket; an expired token is refreshed
  // once through the tokenRefresher.
  async _relogin() {
    try {
      await this._call("login", this._user, { now: true });
    } catch (err) {
      if (err.code !== 70001 || !this._tokenRefresher) throw err;
      this._user = { ...this._user, userSig: await this._refreshedSig() };
      await this._call("login", this._user, { now: true });
    }
  }

  async _rejoinLive() {
    const data = { groupID: this._live.groupID };
    if (!this._user) data.type = TYPES.GRP_AVCHATROOM;
    try {
      await this._call("joinGroup", data, { now: true });
    } catch (err) {
      if (err.code === ERROR_CODE.NETWORK || err.code === ERROR_CODE.TIMEOUT) throw err;
      this._log(2, "cannot rejoin the live room", this._live.groupID, err);
      this._live = null;
      this._emit(EVENT.ERROR, { code: err.code, message: `rejoin live room: ${err.message}` });
    }
  }

  _onClose(ws, code, reason) {
    if (ws !== this._ws) return;
    this._log(code === 1000 ? 0 : 1, "connection closed", code, reason || "");
    this._ws = null;
    this._ready = false;
    this._epoch++;
    clearInterval(this._heartbeatTimer);
    if (this._noticeFloor === null && this._user) this._noticeFloor = this._serverTime - NOTICE_SLACK_S;
    const retry = [];
    for (const req of this._pending.values()) {
      if (req.retry) retry.push(req);
      else this._settle(req, new ChatError(ERROR_CODE.NETWORK, `${req.op}: the connection closed (${code}) before the reply`));
    }
    this._pending.clear();
    this._waiting = retry.concat(this._waiting);
    this._afterClose(code);
  }

  _afterClose(code) {
    if (this._destroyed || this._closing) {
      this._closing = false;
      this._failWaiting(ERROR_CODE.NETWORK, "the client closed the connection");
      this._setNetState(TYPES.NET_STATE_DISCONNECTED);
      return;
    }
    if (code === 4501 && this._tokenRefresher && this._user) {
      this._refreshAndReconnect();
      return;
    }
    if (code === 4502) {
      // Idle: neither logged in nor in a live room. Reconnect only on demand.
      if (this._waiting.length) return this._scheduleReconnect();
      return this._setNetState(TYPES.NET_STATE_DISCONNECTED);
    }
    if (isTerminalClose(code)) return this._endSession(code);
    if (this._user || this._live || this._waiting.length) return this._scheduleReconnect();
    this._setNetState(TYPES.NET_STATE_DISCONNECTED);
  }

  // _endSession stops for good after a terminal close or a refused
  // relogin: a new login (or live-room join) starts again.
  _endSession(code) {
    this._blocked = code;
    const wasUser = this._user !== null;
    this._user = null;
    this._live = null;
    clearTimeout(this._refreshTimer);
    if (this._ws) this._dropSocket(this._ws, 1000, "session ended");
    this._failWaiting(ERROR_CODE.NETWORK, `the server ended the session (${code}); log in again`);
    this._setNetState(TYPES.NET_STATE_DISCONNECTED);
    if (wasUser) this._emit(EVENT.SDK_NOT_READY, { code });
  }

  async _refreshAndReconnect() {
    this._setNetState(TYPES.NET_STATE_CONNECTING);
    try {
      this._user = { ...this._user, userSig: await this._refreshedSig() };
    } catch (err) {
      this._log(3, "tokenRefresher failed", err);
      return this._endSession(4501);
    }
    this._scheduleReconnect();
  }

  async _refreshedSig() {
    const got = await this._tokenRefresher();
    const sig = typeof got === "string" ? got : got?.userSig;
    if (!sig) throw new ChatError(70003, "tokenRefresher returned no userSig");
    return sig;
  }

  _scheduleReconnect() {
    if (this._reconnectTimer || this._ws || this._destroyed) return;
    const delay = backoffDelay(this._attempt++);
    this._log(0, `reconnecting in ${Math.round(delay)} ms`);
    this._setNetState(TYPES.NET_STATE_CONNECTING);
    this._reconnectTimer = setTimeout(() => {
      this._reconnectTimer = null;
      this._connect();
    }, delay);
  }

  _reconnectNow() {
    if (!this._reconnectTimer) return;
    clearTimeout(this._reconnectTimer);
    this._reconnectTimer = null;
    this._connect();
  }

  // _dropSocket abandons a socket at once (a dead peer may never finish
  // the closing handshake) and handles it as closed with code.
  _dropSocket(ws, code, reason) {
    ws.onopen = ws.onmessage = ws.onclose = null; // onerror stays: ws (Node) throws on an unheard error
    try {
      ws.close(code >= 4000 || code === 1000 ? code : 1000, reason);
    } catch {
      /* already closed */
    }
    this._onClose(ws, code, reason);
  }

  _startHeartbeat(ws) {
    clearInterval(this._heartbeatTimer);
    if (!this._heartbeatMs) return;
    this._heartbeatTimer = setInterval(() => {
      this._call("ping", undefined, { timeout: 10000, retry: false }).then(
        (r) => this._noteTime(r.data.time),
        (err) => {
          if (err.code === ERROR_CODE.TIMEOUT && ws === this._ws) this._dropSocket(ws, 4000, "no reply to ping");
        },
      );
    }, this._heartbeatMs);
    this._heartbeatTimer.unref?.(); // Node: the socket, not the keep-alive, holds the process
  }

  /** destroy closes the connection for good and drops every listener. */
  async destroy() {
    this._destroyed = true;
    clearTimeout(this._reconnectTimer);
    clearTimeout(this._refreshTimer);
    clearInterval(this._heartbeatTimer);
    for (const t of this._gapTimers.values()) clearTimeout(t);
    globalThis.removeEventListener?.("online", this._onOnline);
    if (this._ws) this._dropSocket(this._ws, 1000, "destroy");
    this._failWaiting(ERROR_CODE.NETWORK, "the client was destroyed");
    this._listeners.clear();
    return { code: 0, data: {} };
  }

  // ---- requests -------------------------------------------------------

  // _call sends one request and resolves with the reply frame; it rejects
  // with the reply's error, 2800 on a lost connection or 2801 on timeout.
  // Requests wait for a ready (logged-in again) socket unless now is set.
  _call(op, data, { now = false, retry = RETRY_OPS.has(op), timeout = this._timeoutMs } = {}) {
    return new Promise((resolve, reject) => {
      const req = { id: this._nextID++, op, data, resolve, reject, retry };
      req.timer = setTimeout(() => {
        this._pending.delete(req.id);
        this._waiting = this._waiting.filter((r) => r !== req);
        reject(new ChatError(ERROR_CODE.TIMEOUT, `${op}: timeout, no reply within ${timeout} ms`));
      }, timeout);
      if (this._destroyed) return this._settle(req, new ChatError(ERROR_CODE.NETWORK, "the client was destroyed"));
      if (now || this._ready) return this._transmit(req, now);
      this._waiting.push(req);
      if (this._blocked) {
        this._failWaiting(ERROR_CODE.NETWORK, `not connected: the server ended the session (${this._blocked}); log in again`);
      } else if (!this._ws && !this._reconnectTimer) {
        this._connect(); // connect on demand; a scheduled reconnect keeps its backoff
      }
    });
  }

  _transmit(req, now = false) {
    const ws = this._ws;
    if (!ws || ws.readyState !== 1) {
      if (now) this._settle(req, new ChatError(ERROR_CODE.NETWORK, `${req.op}: not connected`));
      else this._waiting.push(req);
      return;
    }
    const frame = { id: req.id, op: req.op };
    if (req.data !== undefined) frame.data = req.data;
    const text = JSON.stringify(frame);
    // The server closes with 1009 (terminal) on a frame over its limit:
    // refuse such a request here instead.
    if (text.length * 3 > this._maxFrameBytes && new TextEncoder().encode(text).length > this._maxFrameBytes) {
      return this._settle(req, new ChatError(ERROR_CODE.INVALID_PARAMETER, `${req.op}: request of more than ${this._maxFrameBytes} bytes`));
    }
    this._pending.set(req.id, req);
    try {
      ws.send(text);
    } catch (err) {
      this._pending.delete(req.id);
      this._settle(req, new ChatError(ERROR_CODE.NETWORK, `${req.op}: ${err.message}`));
    }
  }

  _settle(req, err, frame) {
    clearTimeout(req.timer);
    if (err) req.reject(err);
    else req.resolve(frame);
  }

  _failWaiting(code, message) {
    const waiting = this._waiting;
    this._waiting = [];
    for (const req of waiting) this._settle(req, new ChatError(code, `${req.op}: ${message}`));
  }

  _onFrame(ws, raw) {
    if (ws !== this._ws) return;
    let frame;
    try {
      frame = JSON.parse(typeof raw === "string" ? raw : String(raw));
    } catch {
      return this._log(3, "frame is not JSON", raw);
    }
    if (frame.event) return this._onPush(frame.event, frame.data);
    const req = this._pending.get(frame.id);
    if (!req) return this._log(frame.id === null ? 2 : 0, "reply to no pending request", frame);
    this._pending.delete(frame.id);
    if (frame.code === 0) this._settle(req, null, frame);
    else this._settle(req, new ChatError(frame.code, frame.message || `error ${frame.code}`));
  }

  // _op runs an API method: it resolves {code: 0, data}.
  async _op(op, data, opts) {
    const frame = await this._call(op, data, opts);
    return { code: 0, data: frame.data ?? {} };
  }

  // ---- pushes, de-duplication and sequence tracking -----------------------

  _onPush(event, data) {
    switch (event) {
      case "onMessageReceived":
        if (this._buffer) this._buffer.push({ list: data });
        else this._deliver(data);
        break;
      case "receiveGroupSystemNotice":
        if (this._buffer) this._buffer.push({ notice: data });
        else this._deliverNotice(data);
        break;
      case "kickedOut":
        if (data?.type === TYPES.KICKED_OUT_USERSIG_EXPIRED && this._tokenRefresher) break; // we refresh
        this._emit(EVENT.KICKED_OUT, { type: data?.type });
        break;
      case "resync":
        if (this._user) this._recover(data?.groupIDList || []);
        break;
      default:
        this._log(0, "unknown push", event);
    }
  }

  _noteTime(t) {
    if (t > this._serverTime) this._serverTime = t;
  }

  _key(m) {
    return m.sequence > 0 ? `${m.conversationID}#${m.sequence}` : `id:${m.ID}`;
  }

  _remember(key) {
    this._seen.set(key, true);
    if (this._seen.size > SEEN_LIMIT) this._seen.delete(this._seen.keys().next().value);
  }

  _isSeen(m) {
    if (this._seen.has(this._key(m))) return true;
    const g = m.sequence > 0 && this._groups.get(m.to);
    return !!g && g.above.has(m.sequence);
  }

  // _markSeen remembers m and advances its group's contiguous high-water
  // mark: recovery syncs from there.
  _markSeen(m) {
    this._noteTime(m.time || 0);
    this._remember(this._key(m));
    if (!(m.sequence > 0) || m.conversationType !== TYPES.CONV_GROUP) return;
    if (this._live && m.to === this._live.groupID) return; // live rooms store nothing
    let g = this._groups.get(m.to);
    if (!g) {
      g = { hw: m.sequence - 1, above: new Set(), discard: false };
      this._groups.set(m.to, g);
    }
    if (m.sequence <= g.hw) return;
    if (g.discard) g.hw = m.sequence;
    else g.above.add(m.sequence);
    while (g.above.delete(g.hw + 1)) g.hw++;
    if (g.above.size) this._watchGap(m.to);
  }

  // _watchGap fills a hole in a group's sequence seen while connected (a
  // push the server lost): if it is still there after GAP_WAIT_MS, the
  // group is synced as after a reconnect.
  _watchGap(groupID) {
    if (this._gapTimers.has(groupID) || !this._user) return;
    const timer = setTimeout(() => {
      this._gapTimers.delete(groupID);
      const g = this._groups.get(groupID);
      if (!g || !g.above.size || g.discard || !this._user) return;
      if (this._recovering || !this._ready) return this._watchGap(groupID);
      this._log(1, "a message is missing from the live pushes; syncing", groupID, g.hw + 1);
      this._recover([groupID], 0, { notices: false });
    }, GAP_WAIT_MS);
    timer.unref?.();
    this._gapTimers.set(groupID, timer);
  }

  _track(groupID, latest, remind) {
    let g = this._groups.get(groupID);
    if (!g) {
      g = { hw: latest, above: new Set(), discard: false };
      this._groups.set(groupID, g);
    }
    g.discard = remind === TYPES.MSG_REMIND_DISCARD;
    return g;
  }

  // _deliver emits the messages of list not seen before, in order.
  _deliver(list, { syncDiscard = false } = {}) {
    const fresh = [];
    for (const m of list || []) {
      if (this._ownSending.has(m.ID) && m.from === this._user?.userID) {
        this._markSeen(m); // the send's own reply will report it
        continue;
      }
      if (this._isSeen(m)) continue;
      this._markSeen(m);
      this._observe(m);
      if (syncDiscard && (m.type === TYPES.MSG_TEXT || m.type === TYPES.MSG_CUSTOM)) continue;
      fresh.push(m);
    }
    if (fresh.length) this._emit(EVENT.MESSAGE_RECEIVED, fresh);
    return fresh;
  }

  _deliverNotice(data) {
    const m = data?.message;
    if (!m) return;
    const key = `notice:${m.ID}`;
    if (this._seen.has(key)) return;
    this._remember(key);
    this._noteTime(m.time || 0);
    this._emit(EVENT.GROUP_SYSTEM_NOTICE_RECEIVED, { type: data.type, message: m });
  }

  // _observe keeps the client's own state in step with what it receives.
  _observe(m) {
    const p = m.payload || {};
    const me = this._user?.userID;
    if (m.type === TYPES.MSG_GRP_SYS_NOTICE) {
      const gid = p.groupProfile?.groupID;
      if ([4, 5, 8].includes(p.operationType)) {
        this._groups.delete(gid);
        if (this._live?.groupID === gid) this._live = null;
      }
      return;
    }
    if (m.type === TYPES.MSG_GRP_TIP && this._live?.groupID === m.to && me &&
        (p.operationType === 2 || p.operationType === 3) && (p.userIDList || []).includes(me)) {
      this._live = null; // quit from another session
    }
  }

  // ---- recovery (PROTOCOL.md "Reconnect and recovery") ----------------------

  async _paced(op, data, epoch) {
    for (let tries = 0; ; tries++) {
      const now = Date.now();
      const wait = this._nextPaceAt - now;
      this._nextPaceAt = Math.max(now, this._nextPaceAt) + PACE_MS;
      if (wait > 0) await sleep(wait);
      if (epoch !== this._epoch) throw new ChatError(ERROR_CODE.NETWORK, "connection lost during recovery");
      try {
        return (await this._call(op, data, { retry: false })).data;
      } catch (err) {
        if (err.code !== 10006 || tries >= 5) throw err;
        await sleep(1000); // the server's rate limit: back off and retry
      }
    }
  }

  // _recover fills what was missed while away: stored messages of the
  // groups named (all when empty) and missed system notices. Live pushes
  // that arrive meanwhile wait in a buffer and are applied after it.
  async _recover(groupIDList, tries = 0, { notices = true } = {}) {
    if (this._recovering) {
      const more = this._recoverAgain;
      this._recoverAgain = !groupIDList.length || (more && !more.length) ? [] : [...(more || []), ...groupIDList];
      return;
    }
    this._recovering = true;
    this._buffer = this._buffer || [];
    const epoch = this._epoch;
    let ok = false;
    try {
      const { groupList } = await this._paced("getGroupList", {}, epoch);
      for (const g of groupList) {
        if (g.type === TYPES.GRP_AVCHATROOM) continue;
        if (groupIDList.length && !groupIDList.includes(g.groupID)) continue;
        await this._syncGroup(g, epoch);
      }
      if (notices) await this._recoverNotices(epoch);
      ok = true;
    } catch (err) {
      if (epoch === this._epoch) {
        // Still connected: the server failed (say 10002). Try again soon;
        // a lost connection recovers anyway after its reconnect.
        this._log(2, "recovery failed", err);
        if (tries < 3) setTimeout(() => epoch === this._epoch && this._user && this._recover(groupIDList, tries + 1, { notices }), 1000 * 2 ** tries);
        else this._emit(EVENT.ERROR, { code: err.code, message: `recovery: ${err.message}` });
      }
    } finally {
      this._finishRecovery(ok, notices);
    }
  }

  _finishRecovery(ok, notices) {
    this._recovering = false;
    this._flushBuffer(ok);
    if (ok) {
      if (notices) this._noticeFloor = null;
      this._emit(EVENT.SYNC_COMPLETED, {});
    }
    const again = this._recoverAgain;
    this._recoverAgain = null;
    if (again && this._user) this._recover(again);
  }

  // _flushBuffer applies the pushes held during a recovery.
  _flushBuffer(ok) {
    const buffered = this._buffer || [];
    this._buffer = null;
    for (const item of buffered) {
      if (item.notice) {
        this._deliverNotice(item.notice);
        continue;
      }
      // After a failed recovery, keep only what no later sync can bring
      // back (live-room messages, notices); stored messages come again.
      const list = ok ? item.list : (item.list || []).filter((m) => !(m.sequence > 0) || this._live?.groupID === m.to);
      this._deliver(list);
    }
  }

  async _syncGroup(info, epoch) {
    const known = this._groups.has(info.groupID);
    const g = this._track(info.groupID, 0, info.selfInfo?.messageRemindType);
    const latest = (info.nextMessageSeq || 1) - 1;
    if (known && latest <= g.hw) return;
    for (let cursor = known ? g.hw : 0; ;) {
      const r = await this._paced("syncMessages", { groupID: info.groupID, afterSequence: cursor }, epoch).catch((err) => {
        if (err.code === 10007 || err.code === 10010) return null; // left or gone meanwhile
        throw err;
      });
      if (!r) return;
      if (known && r.oldestSequence > g.hw + 1) this._reportGap(info.groupID, g, r.oldestSequence);
      if (!known && r.messageList.length) g.hw = Math.max(g.hw, r.messageList[0].sequence - 1);
      this._deliver(r.messageList, { syncDiscard: g.discard });
      const last = r.messageList[r.messageList.length - 1];
      if (r.isCompleted || !last) {
        if (!r.messageList.length && g.hw < latest && !known) g.hw = latest;
        return;
      }
      cursor = last.sequence;
    }
  }

  _reportGap(groupID, g, oldest) {
    const gap = {
      groupID,
      conversationID: GROUP_PREFIX + groupID,
      fromSequence: g.hw + 1,
      toSequence: oldest - 1,
    };
    this._log(2, "messages lost beyond retention", gap);
    g.hw = oldest - 1;
    for (const s of g.above) if (s <= g.hw) g.above.delete(s);
    this._emit(EVENT.MESSAGE_GAP, gap);
  }

  // _recoverNotices reads @TIM#SYSTEM back to the disconnect and delivers
  // the notices not seen yet, oldest first.
  async _recoverNotices(epoch) {
    const floor = this._noticeFloor ?? this._serverTime - 300;
    const pages = [];
    let cursor = "";
    for (let i = 0; i < NOTICE_PAGES; i++) {
      const data = { conversationID: TYPES.CONV_SYSTEM, count: 15 };
      if (cursor) data.nextReqMessageID = cursor;
      const r = await this._paced("getMessageList", data, epoch);
      pages.unshift(r.messageList);
      if (r.isCompleted || !r.nextReqMessageID || r.messageList.some((m) => m.time < floor)) break;
      cursor = r.nextReqMessageID;
    }
    const missed = pages.flat().filter((m) => m.time >= floor);
    for (const m of this._deliver(missed)) {
      this._deliverNotice({ type: m.payload?.operationType, message: m });
    }
  }

  // _baseline notes, at login, where each group and the notice list stand,
  // so later recoveries fetch only what comes after.
  async _baseline() {
    const [groups, ping] = await Promise.all([this._call("getGroupList", {}), this._call("ping")]);
    this._noteTime(ping.data.time);
    for (const g of groups.data.groupList || []) {
      if (g.type !== TYPES.GRP_AVCHATROOM) this._track(g.groupID, (g.nextMessageSeq || 1) - 1, g.selfInfo?.messageRemindType);
    }
  }

  // ---- token ----------------------------------------------------------------

  _armRefresh(expireTime) {
    this._expireTime = expireTime;
    clearTimeout(this._refreshTimer);
    if (!this._tokenRefresher || !expireTime) return;
    const wait = Math.max(0, expireTime * 1000 - Date.now() - 30000);
    this._refreshTimer = setTimeout(() => this._autoRefresh(), Math.min(wait, 2 ** 31 - 1));
  }

  async _autoRefresh() {
    if (!this._user) return;
    try {
      await this.refreshToken({ userSig: await this._refreshedSig() });
    } catch (err) {
      this._log(2, "token refresh failed; retrying in 5 s", err);
      if (Date.now() < this._expireTime * 1000 + 20000) this._refreshTimer = setTimeout(() => this._autoRefresh(), 5000);
    }
  }

  // ---- session API ---------------------------------------------------------

  /** login({userID, userSig}) logs in; SDK_READY follows. */
  async login({ userID, userSig } = {}) {
    if (this._user?.userID === userID) return { code: 0, data: { repeatLogin: true, userID } };
    if (this._user) await this.logout();
    this._blocked = 0;
    const frame = await this._call("login", { userID, userSig });
    this._user = { userID, userSig };
    this._groups.clear();
    this._seen.clear();
    this._armRefresh(frame.data.expireTime);
    try {
      await this._baseline();
    } catch (err) {
      this._log(2, "login: cannot read the group list", err);
    }
    this._emit(EVENT.SDK_READY, {});
    return { code: 0, data: { repeatLogin: false, ...frame.data } };
  }

  /** logout ends the login; in a live room the socket stays as a viewer. */
  async logout() {
    if (!this._user) return { code: 0, data: {} };
    let res = { code: 0, data: {} };
    try {
      res = await this._op("logout");
    } catch (err) {
      if (err.code !== 2024 && err.code !== ERROR_CODE.NETWORK) throw err;
    }
    this._user = null;
    clearTimeout(this._refreshTimer);
    this._groups.clear();
    this._seen.clear();
    if (!this._live && this._ws) {
      this._closing = true;
      this._dropSocket(this._ws, 1000, "logout");
    }
    this._emit(EVENT.SDK_NOT_READY, {});
    return res;
  }

  /** refreshToken({userSig}) swaps in a new token for the same user. */
  async refreshToken({ userSig } = {}) {
    const res = await this._op("refreshToken", { userSig });
    if (this._user) this._user = { ...this._user, userSig };
    this._armRefresh(res.data.expireTime);
    return res;
  }

  /** ping asks the server for its time ({time} in Unix seconds). */
  ping() {
    return this._op("ping");
  }

  // ---- groups ---------------------------------------------------------------

  async createGroup(options) {
    const res = await this._op("createGroup", options);
    const g = res.data.group;
    if (g && g.type !== TYPES.GRP_AVCHATROOM) this._track(g.groupID, (g.nextMessageSeq || 1) - 1, g.selfInfo?.messageRemindType);
    return res;
  }

  async getGroupList(options = {}) {
    const res = await this._op("getGroupList", options);
    if (!this._recovering) {
      for (const g of res.data.groupList || []) {
        if (g.type !== TYPES.GRP_AVCHATROOM) this._track(g.groupID, (g.nextMessageSeq || 1) - 1, g.selfInfo?.messageRemindType);
      }
    }
    return res;
  }

  getGroupProfile(options) {
    return this._op("getGroupProfile", options);
  }

  searchGroupByID(groupID) {
    return this._op("searchGroupByID", { groupID: typeof groupID === "object" ? groupID.groupID : groupID });
  }

  updateGroupProfile(options) {
    return this._op("updateGroupProfile", options);
  }

  async dismissGroup(groupID) {
    const id = typeof groupID === "object" ? groupID.groupID : groupID;
    const res = await this._op("dismissGroup", { groupID: id });
    this._groups.delete(id);
    if (this._live?.groupID === id) this._live = null;
    return res;
  }

  /** joinGroup: a client that is not logged in may join a live room
   *  anonymously with type TYPES.GRP_AVCHATROOM. */
  async joinGroup(options = {}) {
    if (!this._user) this._blocked = 0;
    const res = await this._op("joinGroup", options);
    const d = res.data;
    const live = options.type === TYPES.GRP_AVCHATROOM || d.group?.type === TYPES.GRP_AVCHATROOM;
    if (live && d.status !== TYPES.JOIN_STATUS_WAIT_APPROVAL) {
      this._live = { groupID: options.groupID };
      this._groups.delete(options.groupID);
    }
    return res;
  }

  async quitGroup(groupID) {
    const id = typeof groupID === "object" ? groupID.groupID : groupID;
    const res = await this._op("quitGroup", { groupID: id });
    this._groups.delete(id);
    if (this._live?.groupID === id) this._live = null;
    return res;
  }

  changeGroupOwner(options) {
    return this._op("changeGroupOwner", options);
  }

  handleGroupApplication(options) {
    return this._op("handleGroupApplication", options);
  }

  getGroupApplicationList() {
    return this._op("getGroupApplicationList");
  }

  async setMessageRemindType(options) {
    const res = await this._op("setMessageRemindType", options);
    const g = this._groups.get(options.groupID);
    if (g) g.discard = options.messageRemindType === TYPES.MSG_REMIND_DISCARD;
    return res;
  }

  getGroupOnlineMemberCount(groupID) {
    return this._op("getGroupOnlineMemberCount", { groupID: typeof groupID === "object" ? groupID.groupID : groupID });
  }

  // ---- members --------------------------------------------------------------

  getGroupMemberList(options) {
    return this._op("getGroupMemberList", options);
  }

  getGroupMemberProfile(options) {
    return this._op("getGroupMemberProfile", options);
  }

  addGroupMember(options) {
    return this._op("addGroupMember", options);
  }

  deleteGroupMember(options) {
    return this._op("deleteGroupMember", options);
  }

  setGroupMemberMuteTime(options) {
    return this._op("setGroupMemberMuteTime", options);
  }

  setGroupMemberRole(options) {
    return this._op("setGroupMemberRole", options);
  }

  setGroupMemberNameCard(options) {
    return this._op("setGroupMemberNameCard", options);
  }

  setGroupMemberCustomField(options) {
    return this._op("setGroupMemberCustomField", options);
  }

  // ---- profile ----------------------------------------------------------------

  updateMyProfile(options) {
    return this._op("updateMyProfile", options);
  }

  getMyProfile() {
    return this._op("getMyProfile");
  }

  // ---- messages ---------------------------------------------------------------

  _newMessage(type, { to, conversationType = TYPES.CONV_GROUP, priority, cloudCustomData }, payload) {
    if (conversationType !== TYPES.CONV_GROUP) {
      throw new ChatError(ERROR_CODE.INVALID_PARAMETER, `conversationType: chatd has only ${TYPES.CONV_GROUP} conversations`);
    }
    if (!to) throw new ChatError(ERROR_CODE.INVALID_PARAMETER, "to: the groupID is required");
    const me = this._user?.userID || "anonymous";
    const rnd = Math.random().toString(36).slice(2, 8);
    return {
      ID: `${me}-${Date.now().toString(36)}-${++this._msgSeq}-${rnd}`.slice(0, 128),
      type,
      payload,
      conversationID: GROUP_PREFIX + to,
      conversationType,
      to,
      from: me,
      flow: "out",
      time: Math.floor(Date.now() / 1000),
      sequence: 0,
      priority: priority || TYPES.MSG_PRIORITY_NORMAL,
      nick: "",
      nameCard: "",
      cloudCustomData: cloudCustomData || "",
      status: "unSend",
    };
  }

  /** createTextMessage returns an unsent message; pass it to sendMessage. */
  createTextMessage(options = {}) {
    return this._newMessage(TYPES.MSG_TEXT, options, { text: String(options.payload?.text ?? "") });
  }

  /** createCustomMessage: payload {data, description, extension}. */
  createCustomMessage(options = {}) {
    const p = options.payload || {};
    return this._newMessage(TYPES.MSG_CUSTOM, options, {
      data: p.data ?? "",
      description: p.description ?? "",
      extension: p.extension ?? "",
    });
  }

  /** sendMessage sends a message made by create*Message. Sending the same
   *  object again (after a failure) is idempotent: it keeps its ID. */
  async sendMessage(message) {
    if (!message?.ID || !message.to) throw new ChatError(ERROR_CODE.INVALID_PARAMETER, "sendMessage: pass a message made by createTextMessage or createCustomMessage");
    const data = {
      to: message.to,
      conversationType: message.conversationType,
      type: message.type,
      payload: message.payload,
      priority: message.priority,
      ID: message.ID,
    };
    if (message.cloudCustomData) data.cloudCustomData = message.cloudCustomData;
    message.status = "unSend";
    this._ownSending.add(message.ID);
    try {
      const frame = await this._call("sendMessage", data);
      Object.assign(message, frame.data.message, { status: "success" });
      this._markSeen(message);
      return { code: 0, data: { message } };
    } catch (err) {
      message.status = "fail";
      err.data = { message };
      throw err;
    } finally {
      this._ownSending.delete(message.ID);
    }
  }

  /** resendMessage is sendMessage of a message that failed. */
  resendMessage(message) {
    return this.sendMessage(message);
  }

  /** getMessageList({conversationID, nextReqMessageID?, count?}) pages
   *  history back, newest page first. */
  async getMessageList(options) {
    const res = await this._op("getMessageList", options);
    for (const m of res.data.messageList || []) {
      if (m.sequence > 0) this._markSeen(m);
      else this._remember(this._key(m));
    }
    return res;
  }

  /** syncMessages({groupID, afterSequence, count?}) reads what came after
   *  a sequence (the SDK does this itself after a reconnect). */
  syncMessages(options) {
    return this._op("syncMessages", options);
  }
}

/** The default export mirrors TIM's: TIM.create, TIM.TYPES, TIM.EVENT. */
export default { create, TYPES, EVENT, ERROR_CODE, ChatError };
