// The chatd browser SDK (web/sdk/chat.js) under Node's test runner, against
// real chatd processes: every method, reconnect and recovery (a proxy that
// cuts, mutes or drops pushes; a chatd restarted on Redis), and the
// terminal close codes. Ports 18081-18089.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { create, TYPES, EVENT, ERROR_CODE, ChatError, backoffDelay, isTerminalClose } from "../sdk/chat.js";
import { Chatd, Proxy, REDIS_URL, WebSocket, redisPrefix, sign, sleep, waitFor } from "./helpers.mjs";

const main = new Chatd(18081, { CHAT_TOKEN_GRACE: "1s" }, "sdk-main");
// aux: one session per user, short history, short token grace.
const aux = new Chatd(18085, { CHAT_MAX_SESSIONS_PER_USER: "1", CHAT_HISTORY_MAX_MESSAGES: "10", CHAT_TOKEN_GRACE: "1s" }, "sdk-aux");
const proxy = new Proxy(18084, main.wsURL);
const auxProxy = new Proxy(18086, aux.wsURL);
const clients = [];
let n = 0;
const uid = (name) => `${name}${++n}`;

before(async () => {
  await Promise.all([main.start(), aux.start(), proxy.start(), auxProxy.start()]);
});

after(async () => {
  await Promise.all(clients.map((c) => c.destroy()));
  await Promise.all([proxy.close(), auxProxy.close()]);
  await Promise.all([main.stop(), aux.stop()]);
});

/** client makes an SDK client that records what it receives. */
function client(url = main.wsURL, opts = {}) {
  const c = create({ url, WebSocket, logLevel: 4, ...opts });
  c.got = { messages: [], notices: [], states: [], kicked: [], gaps: [], errors: [], synced: 0, ready: 0, notReady: 0 };
  c.on(EVENT.MESSAGE_RECEIVED, (e) => c.got.messages.push(...e.data));
  c.on(EVENT.GROUP_SYSTEM_NOTICE_RECEIVED, (e) => c.got.notices.push(e.data));
  c.on(EVENT.NET_STATE_CHANGE, (e) => c.got.states.push(e.data.state));
  c.on(EVENT.KICKED_OUT, (e) => c.got.kicked.push(e.data.type));
  c.on(EVENT.MESSAGE_GAP, (e) => c.got.gaps.push(e.data));
  c.on(EVENT.ERROR, (e) => c.got.errors.push(e.data));
  c.on(EVENT.SYNC_COMPLETED, () => c.got.synced++);
  c.on(EVENT.SDK_READY, () => c.got.ready++);
  c.on(EVENT.SDK_NOT_READY, () => c.got.notReady++);
  clients.push(c);
  return c;
}

async function loggedIn(name, url = main.wsURL, server = main, opts = {}) {
  const c = client(url, opts);
  c.userID = uid(name);
  await c.login({ userID: c.userID, userSig: await server.token(c.userID) });
  return c;
}

const texts = (c, groupID) =>
  c.got.messages.filter((m) => m.to === groupID && m.type === TYPES.MSG_TEXT).map((m) => m.payload.text);
const tips = (c, groupID, op) =>
  c.got.messages.filter((m) => m.to === groupID && m.type === TYPES.MSG_GRP_TIP && m.payload.operationType === op);
const notices = (c, op) => c.got.notices.filter((x) => x.type === op);

async function rejects(promise, code) {
  const err = await promise.then(() => assert.fail(`expected error ${code}`), (e) => e);
  assert.ok(err instanceof ChatError, `a ChatError, got ${err}`);
  assert.equal(err.code, code, err.message);
  assert.equal(typeof err.message, "string");
  return err;
}

async function send(c, groupID, text, extra = {}) {
  const m = c.createTextMessage({ to: groupID, conversationType: TYPES.CONV_GROUP, payload: { text }, ...extra });
  return (await c.sendMessage(m)).data.message;
}

async function publicGroup(owner, extra = {}) {
  return (await owner.createGroup({ name: "g" + n, type: TYPES.GRP_PUBLIC, ...extra })).data.group.groupID;
}

describe("constants", () => {
  test("TYPES and EVENT carry TIM's values", () => {
    assert.equal(TYPES.GRP_WORK, "Private");
    assert.equal(TYPES.GRP_PUBLIC, "Public");
    assert.equal(TYPES.GRP_MEETING, "ChatRoom");
    assert.equal(TYPES.GRP_AVCHATROOM, "AVChatRoom");
    assert.equal(TYPES.GRP_MBR_ROLE_OWNER, "Owner");
    assert.equal(TYPES.MSG_TEXT, "TIMTextElem");
    assert.equal(TYPES.MSG_CUSTOM, "TIMCustomElem");
    assert.equal(TYPES.MSG_GRP_TIP, "TIMGroupTipElem");
    assert.equal(TYPES.MSG_GRP_SYS_NOTICE, "TIMGroupSystemNoticeElem");
    assert.equal(TYPES.CONV_GROUP, "GROUP");
    assert.equal(TYPES.CONV_SYSTEM, "@TIM#SYSTEM");
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7], [TYPES.GRP_TIP_MBR_JOIN, TYPES.GRP_TIP_MBR_QUIT, TYPES.GRP_TIP_MBR_KICKED_OUT,
      TYPES.GRP_TIP_MBR_SET_ADMIN, TYPES.GRP_TIP_MBR_CANCELED_ADMIN, TYPES.GRP_TIP_GRP_PROFILE_UPDATED, TYPES.GRP_TIP_MBR_PROFILE_UPDATED]);
    assert.equal(TYPES.NET_STATE_CONNECTED, "connected");
    assert.equal(TYPES.KICKED_OUT_MULT_ACCOUNT, "multipleAccount");
    assert.equal(EVENT.MESSAGE_RECEIVED, "onMessageReceived");
    assert.equal(EVENT.GROUP_SYSTEM_NOTICE_RECEIVED, "receiveGroupSystemNotice");
    assert.equal(EVENT.KICKED_OUT, "kickedOut");
    assert.equal(EVENT.NET_STATE_CHANGE, "netStateChange");
    assert.equal(EVENT.SDK_READY, "sdkStateReady");
    assert.equal(EVENT.ERROR, "error");
  });

  test("backoff is exponential with full jitter, 0.5 s start, 20 s cap", () => {
    for (let i = 0; i < 12; i++) {
      assert.equal(backoffDelay(i, () => 0), 0);
      assert.equal(backoffDelay(i, () => 0.999999) <= Math.min(20000, 500 * 2 ** i), true);
      assert.equal(Math.round(backoffDelay(i, () => 1)), Math.min(20000, 500 * 2 ** i));
    }
    assert.equal(backoffDelay(100, () => 1), 20000);
  });

  test("terminal close codes are 4500-4999 and 1009", () => {
    for (const c of [1009, 4500, 4501, 4502, 4503, 4509, 4999]) assert.equal(isTerminalClose(c), true, String(c));
    for (const c of [1000, 1001, 1006, 4001, 4008, 4012, 4029, 4499]) assert.equal(isTerminalClose(c), false, String(c));
  });

  test("create needs a WebSocket outside the browser", { skip: typeof globalThis.WebSocket === "function" }, () => {
    assert.throws(() => create({ url: main.wsURL }), (e) => e instanceof ChatError && e.code === 10004);
  });
});

describe("session", () => {
  test("login, SDK_READY, repeat login, profile, ping, refreshToken, logout", async () => {
    const c = client();
    const id = uid("sess");
    const res = await c.login({ userID: id, userSig: await main.token(id) });
    assert.equal(res.code, 0);
    assert.equal(res.data.repeatLogin, false);
    assert.equal(res.data.userID, id);
    assert.ok(res.data.expireTime > Date.now() / 1000);
    assert.equal(c.got.ready, 1);
    assert.equal(c.isReady(), true);
    assert.equal(c.getLoginUser(), id);
    assert.equal(c.getNetState(), TYPES.NET_STATE_CONNECTED);
    assert.equal((await c.login({ userID: id, userSig: "x" })).data.repeatLogin, true);

    const prof = await c.updateMyProfile({ nick: "Sessy", avatar: "https://example.com/a.png" });
    assert.deepEqual(prof, { code: 0, data: { profile: { userID: id, nick: "Sessy", avatar: "https://example.com/a.png" } } });
    assert.equal((await c.getMyProfile()).data.profile.nick, "Sessy");
    assert.ok((await c.ping()).data.time > 0);

    const fresh = sign(id, 3600);
    assert.equal((await c.refreshToken({ userSig: fresh })).data.userID, id);
    await rejects(c.refreshToken({ userSig: await main.token("someoneelse") }), 70003);

    await c.logout();
    assert.equal(c.got.notReady, 1);
    assert.equal(c.isReady(), false);
    await waitFor(() => c.getNetState() === TYPES.NET_STATE_DISCONNECTED, 2000, "disconnected after logout");
    // A request after logout opens a connection on demand; the server wants a login.
    await rejects(c.getGroupList(), 2024);
  });

  test("on/off, setLogLevel and destroy", async () => {
    const c = client();
    const seen = [];
    const fn = (e) => seen.push(e.name);
    c.on(EVENT.SDK_READY, fn);
    c.setLogLevel(4);
    const id = uid("onoff");
    await c.login({ userID: id, userSig: await main.token(id) });
    c.off(EVENT.SDK_READY, fn);
    await c.logout();
    await c.login({ userID: id, userSig: await main.token(id) });
    assert.deepEqual(seen, [EVENT.SDK_READY], "off removes the listener");
    await c.destroy();
    assert.equal(c.getNetState(), TYPES.NET_STATE_DISCONNECTED);
    await rejects(c.getMyProfile(), ERROR_CODE.NETWORK);
  });

  test("a bad token rejects with {code, message}", async () => {
    const c = client();
    const err = await rejects(c.login({ userID: "mallory", userSig: "not-a-token" }), 70003);
    assert.match(err.message, /userSig/);
    await rejects(c.login({ userID: "mallory", userSig: sign("mallory", -10) }), 70001);
  });
});

describe("groups and members", () => {
  test("every group and member operation, with its tips and notices", async () => {
    const [alice, bob, carol] = await Promise.all([loggedIn("alice"), loggedIn("bob"), loggedIn("carol")]);

    // createGroup of each type
    const pub = (await alice.createGroup({ name: "Reviewers", type: TYPES.GRP_PUBLIC, joinOption: TYPES.JOIN_OPTIONS_NEED_PERMISSION, introduction: "code review" })).data.group;
    assert.equal(pub.type, "Public");
    assert.equal(pub.selfInfo.role, TYPES.GRP_MBR_ROLE_OWNER);
    const work = (await alice.createGroup({ name: "Work", type: TYPES.GRP_WORK, memberList: [{ userID: bob.userID }] })).data;
    assert.deepEqual(work.overLimitUserIDList, []);
    const meeting = (await alice.createGroup({ name: "Meet", type: TYPES.GRP_MEETING })).data.group;
    const live = (await alice.createGroup({ name: "Live", type: TYPES.GRP_AVCHATROOM })).data.group;
    await waitFor(() => notices(bob, 7).some((x) => x.message.payload.groupProfile.groupID === work.group.groupID), 3000, "notice 7 (invited at create)");

    // getGroupList: no live rooms; profile and search
    const list = (await alice.getGroupList({ groupProfileFilter: [TYPES.GRP_PROFILE_OWNER_ID] })).data.groupList;
    const ids = list.map((g) => g.groupID);
    for (const g of [pub, work.group, meeting]) assert.ok(ids.includes(g.groupID));
    assert.ok(!ids.includes(live.groupID));
    assert.equal(list.find((g) => g.groupID === pub.groupID).ownerID, alice.userID);
    assert.equal((await bob.getGroupProfile({ groupID: pub.groupID })).data.group.introduction, "code review");
    assert.equal((await carol.searchGroupByID(pub.groupID)).data.group.name, "Reviewers");
    await rejects(carol.searchGroupByID(work.group.groupID), 10010);
    await rejects(carol.getGroupProfile({ groupID: "@TGS#NOSUCHGROUP" }), 10010);

    // join with permission: apply, notice 1, application list, agree
    const applied = await bob.joinGroup({ groupID: pub.groupID, applyMessage: "let me in" });
    assert.equal(applied.data.status, TYPES.JOIN_STATUS_WAIT_APPROVAL);
    const req = await waitFor(() => notices(alice, 1).find((x) => x.message.payload.operatorID === bob.userID), 3000, "notice 1");
    assert.equal(req.message.payload.handleMessage, "let me in");
    assert.ok(alice.got.messages.some((m) => m.ID === req.message.ID), "the notice also comes in onMessageReceived");
    const apps = (await alice.getGroupApplicationList()).data.applicationList;
    assert.deepEqual(apps.map((a) => [a.groupID, a.applicant]), [[pub.groupID, bob.userID]]);
    await alice.handleGroupApplication({ handleAction: "Agree", message: req.message });
    await waitFor(() => notices(bob, 2).length === 1, 3000, "notice 2 (accepted)");
    await waitFor(() => tips(alice, pub.groupID, TYPES.GRP_TIP_MBR_JOIN).length === 1, 3000, "tip 1");

    // reject by groupID + applicant
    await carol.joinGroup({ groupID: pub.groupID, applyMessage: "me too" });
    await waitFor(() => notices(alice, 1).some((x) => x.message.payload.operatorID === carol.userID), 3000, "carol's notice 1");
    await alice.handleGroupApplication({ handleAction: "Reject", groupID: pub.groupID, applicant: carol.userID, handleMessage: "not now" });
    const rejected = await waitFor(() => notices(carol, 3)[0], 3000, "notice 3 (rejected)");
    assert.equal(rejected.message.payload.handleMessage, "not now");

    // profile update → tip 6 with the changed fields
    await alice.updateGroupProfile({ groupID: pub.groupID, name: "Reviewers 2", groupCustomField: [{ key: "topic", value: "go" }] });
    const tip6 = await waitFor(() => tips(bob, pub.groupID, TYPES.GRP_TIP_GRP_PROFILE_UPDATED)[0], 3000, "tip 6");
    assert.equal(tip6.payload.newGroupProfile.name, "Reviewers 2");

    // remind type, member list and profile
    const remind = await bob.setMessageRemindType({ groupID: pub.groupID, messageRemindType: TYPES.MSG_REMIND_ACPT_NOT_NOTE });
    assert.equal(remind.data.group.selfInfo.messageRemindType, "AcceptNotNotify");
    const members = (await bob.getGroupMemberList({ groupID: pub.groupID, count: 50, offset: 0 })).data.memberList;
    assert.deepEqual(members.map((m) => [m.userID, m.role]), [[alice.userID, "Owner"], [bob.userID, "Member"]]);
    const prof = (await alice.getGroupMemberProfile({ groupID: pub.groupID, userIDList: [bob.userID, "nobody"] })).data.memberList;
    assert.deepEqual(prof.map((m) => m.userID), [bob.userID]);

    // roles, name cards, custom fields
    await alice.setGroupMemberRole({ groupID: pub.groupID, userID: bob.userID, role: TYPES.GRP_MBR_ROLE_ADMIN });
    await waitFor(() => tips(alice, pub.groupID, TYPES.GRP_TIP_MBR_SET_ADMIN).length && notices(bob, 9).length, 3000, "tip 4 + notice 9");
    await rejects(bob.setGroupMemberRole({ groupID: pub.groupID, userID: alice.userID, role: "Member" }), 2681);
    const card = await alice.setGroupMemberNameCard({ groupID: pub.groupID, userID: bob.userID, nameCard: "Bobby" });
    assert.equal(card.data.member.nameCard, "Bobby");
    const cf = await bob.setGroupMemberCustomField({ groupID: pub.groupID, memberCustomField: [{ key: "team", value: "web" }] });
    assert.deepEqual(cf.data.member.memberCustomField, [{ key: "team", value: "web" }]);
    await alice.setGroupMemberRole({ groupID: pub.groupID, userID: bob.userID, role: TYPES.GRP_MBR_ROLE_MEMBER });
    await waitFor(() => tips(alice, pub.groupID, TYPES.GRP_TIP_MBR_CANCELED_ADMIN).length, 3000, "tip 5");

    // mute: the muted member cannot send; tip 7
    const muted = await alice.setGroupMemberMuteTime({ groupID: pub.groupID, userID: bob.userID, muteTime: 60 });
    assert.ok(muted.data.member.muteUntil > Date.now() / 1000);
    const tip7 = await waitFor(() => tips(bob, pub.groupID, TYPES.GRP_TIP_MBR_PROFILE_UPDATED)[0], 3000, "tip 7");
    assert.deepEqual(tip7.payload.memberList, [{ userID: bob.userID, muteTime: 60 }]);
    const m = bob.createTextMessage({ to: pub.groupID, conversationType: TYPES.CONV_GROUP, payload: { text: "can I talk?" } });
    const err = await rejects(bob.sendMessage(m), 10017);
    assert.equal(err.data.message, m);
    assert.equal(m.status, "fail");
    await alice.setGroupMemberMuteTime({ groupID: pub.groupID, userID: bob.userID, muteTime: 0 });
    assert.equal((await bob.sendMessage(m)).data.message.status, "success");

    // invite and kick in the Work group
    const added = (await alice.addGroupMember({ groupID: work.group.groupID, userIDList: [carol.userID, bob.userID] })).data;
    assert.deepEqual(added.successUserIDList, [carol.userID]);
    assert.deepEqual(added.existedUserIDList, [bob.userID]);
    await waitFor(() => tips(carol, work.group.groupID, TYPES.GRP_TIP_MBR_JOIN).length, 3000, "carol's join tip");
    const kicked = await alice.deleteGroupMember({ groupID: work.group.groupID, userIDList: [carol.userID], reason: "bye" });
    assert.deepEqual(kicked.data.userIDList, [carol.userID]);
    await waitFor(() => notices(carol, 4).length, 3000, "notice 4 (kicked)");
    await rejects(carol.getGroupMemberList({ groupID: work.group.groupID }), 10007);

    // owner change, quit, dismiss
    const owner = await alice.changeGroupOwner({ groupID: pub.groupID, newOwnerID: bob.userID });
    assert.equal(owner.data.group.ownerID, bob.userID);
    await rejects(alice.dismissGroup(pub.groupID), 10007);
    await alice.quitGroup(pub.groupID);
    await waitFor(() => notices(alice, 8).length, 3000, "notice 8 (quit)");
    await alice.joinGroup({ groupID: meeting.groupID }); // already a member: success
    await carol.joinGroup({ groupID: meeting.groupID });
    assert.equal((await bob.dismissGroup(pub.groupID)).data.groupID, pub.groupID);
    await rejects(bob.getGroupProfile({ groupID: pub.groupID }), 10010);
    await alice.dismissGroup(meeting.groupID);
    await waitFor(() => notices(carol, 5).length, 3000, "notice 5 (dismissed)");
    await rejects(carol.joinGroup({ groupID: work.group.groupID }), 2601);
    assert.equal((await alice.getGroupOnlineMemberCount(live.groupID)).data.memberCount, 0);
  });
});

describe("messages", () => {
  let alice;
  let bob;
  let gid;
  before(async () => {
    [alice, bob] = await Promise.all([loggedIn("malice"), loggedIn("mbob")]);
    gid = await publicGroup(alice);
    await bob.joinGroup({ groupID: gid });
  });

  test("text and custom messages reach the other member with TIM's fields", async () => {
    const t = alice.createTextMessage({ to: gid, conversationType: TYPES.CONV_GROUP, payload: { text: "hello" },
      priority: TYPES.MSG_PRIORITY_HIGH, cloudCustomData: "cc" });
    assert.equal(t.status, "unSend");
    assert.equal(t.conversationID, "GROUP" + gid);
    assert.ok(t.ID.length > 0 && t.ID.length <= 128);
    const sent = (await alice.sendMessage(t)).data.message;
    assert.equal(sent, t, "the same object, updated");
    assert.equal(sent.status, "success");
    assert.ok(sent.sequence > 0);
    const c = alice.createCustomMessage({ to: gid, conversationType: TYPES.CONV_GROUP, payload: { data: '{"x":1}', description: "dice", extension: "e" } });
    await alice.sendMessage(c);
    await waitFor(() => bob.got.messages.some((m) => m.ID === c.ID), 3000, "custom message");
    const got = bob.got.messages.find((m) => m.ID === t.ID);
    assert.equal(got.flow, "in");
    assert.equal(got.from, alice.userID);
    assert.equal(got.priority, "High");
    assert.equal(got.cloudCustomData, "cc");
    assert.equal(got.sequence, sent.sequence);
    assert.deepEqual(bob.got.messages.find((m) => m.ID === c.ID).payload, { data: '{"x":1}', description: "dice", extension: "e" });
    assert.ok(!alice.got.messages.some((m) => m.ID === t.ID), "the sending session gets only the reply");
    assert.throws(() => alice.createTextMessage({ to: gid, conversationType: TYPES.CONV_C2C, payload: { text: "x" } }), ChatError);
  });

  test("sending the same message again is idempotent", async () => {
    const m = alice.createTextMessage({ to: gid, conversationType: TYPES.CONV_GROUP, payload: { text: "once" } });
    const first = (await alice.sendMessage(m)).data.message.sequence;
    const again = (await alice.resendMessage(m)).data.message.sequence;
    assert.equal(again, first);
    await sleep(300);
    assert.equal(bob.got.messages.filter((x) => x.ID === m.ID).length, 1);
  });

  test("getMessageList pages back with nextReqMessageID; syncMessages reads forward", async () => {
    const g = await publicGroup(alice);
    const sent = [];
    for (let i = 0; i < 20; i++) sent.push(send(alice, g, `p${i}`));
    const seqs = (await Promise.all(sent)).map((m) => m.sequence);
    const page1 = (await alice.getMessageList({ conversationID: "GROUP" + g, count: 15 })).data;
    assert.equal(page1.messageList.length, 15);
    assert.equal(page1.isCompleted, false);
    assert.deepEqual(page1.messageList.map((m) => m.payload.text), Array.from({ length: 15 }, (_, i) => `p${i + 5}`));
    const page2 = (await alice.getMessageList({ conversationID: "GROUP" + g, nextReqMessageID: page1.nextReqMessageID })).data;
    assert.equal(page2.isCompleted, true);
    assert.deepEqual(page2.messageList.map((m) => m.payload.text), ["p0", "p1", "p2", "p3", "p4"]);
    const sync = (await alice.syncMessages({ groupID: g, afterSequence: seqs[16] })).data;
    assert.deepEqual(sync.messageList.map((m) => m.payload.text), ["p17", "p18", "p19"]);
    assert.equal(sync.isCompleted, true);
    assert.ok(sync.oldestSequence >= 1);
    const sys = (await alice.getMessageList({ conversationID: TYPES.CONV_SYSTEM })).data;
    assert.ok(sys.messageList.some((m) => m.type === TYPES.MSG_GRP_SYS_NOTICE && m.payload.operationType === 6));
  });

  test("requests are pipelined and replies matched by id", async () => {
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) =>
      i % 2 ? alice.getGroupProfile({ groupID: gid }) : alice.getMyProfile()));
    replies.forEach((r, i) => assert.ok(i % 2 ? r.data.group.groupID === gid : r.data.profile.userID === alice.userID));
  });

  test("a request with no reply times out with 2801", async () => {
    const c = await loggedIn("slow", proxy.url, main, { requestTimeout: 300 });
    proxy.blackhole(true);
    try {
      const err = await rejects(c.getMyProfile(), ERROR_CODE.TIMEOUT);
      assert.match(err.message, /timeout/);
    } finally {
      proxy.blackhole(false);
    }
    assert.ok((await c.getMyProfile()).data.profile);
  });
});

describe("live rooms", () => {
  test("an anonymous viewer watches a live room, counts, and both rejoin after a cut", async () => {
    const owner = await loggedIn("host", proxy.url);
    const room = (await owner.createGroup({ name: "Show", type: TYPES.GRP_AVCHATROOM })).data.group.groupID;
    const viewer = client(proxy.url);
    const joined = await viewer.joinGroup({ groupID: room, type: TYPES.GRP_AVCHATROOM });
    assert.equal(joined.data.status, TYPES.JOIN_STATUS_SUCCESS);
    assert.equal((await viewer.getGroupProfile({ groupID: room })).data.group.name, "Show");
    await rejects(viewer.getGroupList(), 2024);
    await owner.joinGroup({ groupID: room });
    await send(owner, room, "welcome");
    await waitFor(() => texts(viewer, room).includes("welcome"), 3000, "live message");
    await waitFor(() => tips(viewer, room, TYPES.GRP_TIP_MBR_JOIN).some((t) => t.payload.userIDList.includes(owner.userID)), 3000, "batched join tip");
    assert.equal(tips(viewer, room, TYPES.GRP_TIP_MBR_JOIN)[0].sequence, 0);
    await waitFor(async () => (await viewer.getGroupOnlineMemberCount(room)).data.memberCount === 2, 11000, "online count 2");

    const before = proxy.connections;
    proxy.cut();
    await waitFor(() => proxy.connections >= before + 2 && viewer.getNetState() === TYPES.NET_STATE_CONNECTED, 5000, "viewer reconnected");
    await sleep(200);
    await send(owner, room, "still there?"); // sending needs a joined session: the owner rejoined too
    await waitFor(() => texts(viewer, room).includes("still there?"), 3000, "live message after the rejoin");
    assert.deepEqual(texts(viewer, room), ["welcome", "still there?"]);
    assert.equal((await viewer.quitGroup(room)).data.groupID, room);
    await send(owner, room, "gone");
    await sleep(300);
    assert.ok(!texts(viewer, room).includes("gone"));
  });
});

describe("reconnect and recovery", () => {
  test("after a cut the client reconnects, relogs in and recovers what it missed, once", async () => {
    const alice = await loggedIn("ralice");
    const bob = await loggedIn("rbob", proxy.url);
    const gid = await publicGroup(alice);
    await bob.joinGroup({ groupID: gid });
    await send(alice, gid, "before");
    await waitFor(() => texts(bob, gid).includes("before"), 3000, "first message");

    proxy.refuse(true);
    proxy.cut();
    await waitFor(() => bob.getNetState() === TYPES.NET_STATE_CONNECTING, 2000, "connecting");
    for (let i = 0; i < 5; i++) await send(alice, gid, `missed${i}`);
    await alice.setGroupMemberRole({ groupID: gid, userID: bob.userID, role: TYPES.GRP_MBR_ROLE_ADMIN });
    proxy.refuse(false);
    await waitFor(() => bob.got.synced >= 1, 10000, "recovery");
    assert.deepEqual(texts(bob, gid), ["before", "missed0", "missed1", "missed2", "missed3", "missed4"]);
    assert.equal(tips(bob, gid, TYPES.GRP_TIP_MBR_SET_ADMIN).length, 1);
    assert.equal(notices(bob, 9).length, 1, "notice 9 read back from @TIM#SYSTEM");
    assert.ok(bob.got.states.includes(TYPES.NET_STATE_CONNECTING));
    assert.equal(bob.getNetState(), TYPES.NET_STATE_CONNECTED);
    await send(alice, gid, "after");
    await waitFor(() => texts(bob, gid).includes("after"), 3000, "live again");
    const seqs = bob.got.messages.filter((m) => m.to === gid).map((m) => m.sequence);
    assert.deepEqual(seqs, [...new Set(seqs)].sort((a, b) => a - b), "each once, in sequence order");
  });

  test("pushes that arrive during the sync wait for it: in order, each once", async () => {
    const alice = await loggedIn("balice");
    const bob = await loggedIn("bbob", proxy.url);
    const gid = await publicGroup(alice);
    await bob.joinGroup({ groupID: gid });
    await send(alice, gid, "seen");
    await waitFor(() => texts(bob, gid).includes("seen"), 3000, "first");
    const order = [];
    bob.on(EVENT.MESSAGE_RECEIVED, (e) => order.push(...e.data.filter((m) => m.to === gid).map((m) => m.sequence)));
    bob.on(EVENT.SYNC_COMPLETED, () => order.push("synced"));
    proxy.refuse(true);
    proxy.cut();
    for (let i = 0; i < 5; i++) await send(alice, gid, `missed${i}`);
    // Hold the sync request back: live0 and live1 are pushed to bob first
    // and are in the sync's reply as well.
    proxy.delayUp = (text) => (text.includes('"op":"syncMessages"') ? 600 : 0);
    const sent = proxy.clientFrames.length;
    proxy.refuse(false);
    try {
      await waitFor(() => proxy.clientFrames.slice(sent).some((f) => f.includes('"op":"syncMessages"')), 10000, "sync request");
      await send(alice, gid, "live0");
      await send(alice, gid, "live1");
      await waitFor(() => bob.got.synced >= 1, 5000, "recovery");
    } finally {
      proxy.delayUp = null;
    }
    assert.deepEqual(texts(bob, gid), ["seen", "missed0", "missed1", "missed2", "missed3", "missed4", "live0", "live1"]);
    const seqs = order.filter((x) => x !== "synced");
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), "delivered in sequence order");
    assert.equal(new Set(seqs).size, seqs.length, "each once");
  });

  test("a send whose reply was lost is sent again and counted once", async () => {
    const alice = await loggedIn("lalice");
    const bob = await loggedIn("lbob", proxy.url);
    const gid = await publicGroup(alice);
    await bob.joinGroup({ groupID: gid });
    proxy.mute(true); // the request goes through; its reply is lost
    const m = bob.createTextMessage({ to: gid, conversationType: TYPES.CONV_GROUP, payload: { text: "lost reply" } });
    const sending = bob.sendMessage(m);
    await waitFor(() => alice.got.messages.some((x) => x.ID === m.ID), 3000, "the server got the send");
    proxy.mute(false);
    proxy.cut();
    const sent = (await sending).data.message;
    assert.equal(sent.status, "success");
    assert.equal(sent.sequence, alice.got.messages.find((x) => x.ID === m.ID).sequence);
    await waitFor(() => bob.got.synced >= 1, 5000, "recovery");
    await sleep(200);
    assert.equal(alice.got.messages.filter((x) => x.ID === m.ID).length, 1);
    assert.equal(bob.got.messages.filter((x) => x.ID === m.ID).length, 0, "own send is not reported as received");
  });

  test("a resync push recovers messages and notices the node missed", async () => {
    const alice = await loggedIn("salice");
    const bob = await loggedIn("sbob", proxy.url);
    const gid = await publicGroup(alice);
    await bob.joinGroup({ groupID: gid });
    await waitFor(() => tips(bob, gid, 1).length, 3000, "join tip");
    proxy.dropPushes(true);
    await send(alice, gid, "r1");
    await send(alice, gid, "r2");
    await alice.setGroupMemberRole({ groupID: gid, userID: bob.userID, role: TYPES.GRP_MBR_ROLE_ADMIN });
    await waitFor(() => proxy.dropped >= 4, 3000, "pushes dropped");
    proxy.dropPushes(false);
    assert.deepEqual(texts(bob, gid), []);
    proxy.inject({ event: "resync", data: { groupIDList: [] } });
    await waitFor(() => bob.got.synced >= 1, 5000, "resync recovery");
    assert.deepEqual(texts(bob, gid), ["r1", "r2"]);
    assert.equal(tips(bob, gid, 4).length, 1);
    assert.equal(notices(bob, 9).length, 1);
    proxy.inject({ event: "resync", data: { groupIDList: [gid] } });
    await waitFor(() => bob.got.synced >= 2, 5000, "second resync");
    assert.deepEqual(texts(bob, gid), ["r1", "r2"], "nothing twice");
  });

  test("a push lost while connected is filled from the gap it leaves", async () => {
    const alice = await loggedIn("halice");
    const bob = await loggedIn("hbob", proxy.url);
    const gid = await publicGroup(alice);
    await bob.joinGroup({ groupID: gid });
    proxy.dropIf = (text) => text.startsWith('{"event"') && text.includes('"text":"lost in transit"');
    try {
      await send(alice, gid, "lost in transit");
      await send(alice, gid, "next one");
      await waitFor(() => texts(bob, gid).includes("next one"), 3000, "the next push");
      assert.deepEqual(texts(bob, gid), ["next one"]);
      await waitFor(() => texts(bob, gid).includes("lost in transit"), 4000, "the gap filled");
    } finally {
      proxy.dropIf = null;
    }
    assert.deepEqual(texts(bob, gid), ["next one", "lost in transit"]);
    const seqs = bob.got.messages.filter((m) => m.to === gid).map((m) => m.sequence);
    assert.equal(new Set(seqs).size, seqs.length, "each once");
    assert.equal(bob.got.gaps.length, 0);
  });

  test("a gap older than the retention is reported with messageGap", async () => {
    const alice = await loggedIn("galice", aux.wsURL, aux);
    const bob = await loggedIn("gbob", auxProxy.url, aux);
    const gid = await publicGroup(alice);
    await bob.joinGroup({ groupID: gid });
    await send(alice, gid, "seen");
    await waitFor(() => texts(bob, gid).includes("seen"), 3000, "first");
    const hw = bob.got.messages.filter((m) => m.to === gid).at(-1).sequence;
    auxProxy.refuse(true);
    auxProxy.cut();
    const sent = [];
    for (let i = 0; i < 25; i++) sent.push(await send(alice, gid, `x${i}`));
    auxProxy.refuse(false);
    await waitFor(() => bob.got.synced >= 1, 10000, "recovery");
    assert.deepEqual(texts(bob, gid), ["seen", ...sent.slice(-10).map((m) => m.payload.text)]);
    assert.equal(bob.got.gaps.length, 1);
    assert.deepEqual(bob.got.gaps[0], { groupID: gid, conversationID: "GROUP" + gid, fromSequence: hw + 1, toSequence: sent.at(-11).sequence });
  });

  test("chatd on Redis restarted: the client recovers every missed message once", { timeout: 60000 }, async () => {
    const { prefix, cleanup } = redisPrefix();
    const redis = { CHAT_REDIS_URL: REDIS_URL, CHAT_REDIS_PREFIX: prefix };
    const n1 = new Chatd(18082, { ...redis, CHAT_NODE_ID: "n1" }, "sdk-n1");
    const n2 = new Chatd(18083, { ...redis, CHAT_NODE_ID: "n2", CHAT_RATE_LIMIT: "2000", CHAT_RATE_BURST: "2000" }, "sdk-n2");
    try {
      await Promise.all([n1.start(), n2.start()]);
      const alice = await loggedIn("nalice", n2.wsURL, n2);
      const bob = await loggedIn("nbob", n1.wsURL, n1);
      const gid = await publicGroup(alice);
      await bob.joinGroup({ groupID: gid });
      await send(alice, gid, "hello bob");
      await send(bob, gid, "hi alice");
      await waitFor(() => texts(bob, gid).includes("hello bob") && texts(alice, gid).includes("hi alice"), 3000,
        "cross-node chat").catch((err) => {
        throw new Error(`${err.message}: bob got ${JSON.stringify(texts(bob, gid))}, alice got ${JSON.stringify(texts(alice, gid))}`);
      });

      await n1.stop("SIGKILL"); // bob's node dies: his socket is cut
      await waitFor(() => bob.getNetState() === TYPES.NET_STATE_CONNECTING, 3000, "bob reconnecting");
      const sent = [];
      for (let i = 0; i < 130; i += 10) {
        sent.push(...(await Promise.all(Array.from({ length: 10 }, (_, j) => send(alice, gid, `m${i + j}`)))));
      }
      await n1.start();
      // Alice keeps talking while bob reconnects and syncs.
      for (let i = 130; i < 160; i++) {
        sent.push(await send(alice, gid, `m${i}`));
        await sleep(40);
      }
      const want = sent.map((m) => m.payload.text);
      await waitFor(() => texts(bob, gid).length >= want.length + 1, 30000, "bob has everything");
      await sleep(300);
      assert.deepEqual(texts(bob, gid), ["hello bob", ...want], "every message once, in order");
      const seqs = bob.got.messages.filter((m) => m.to === gid).map((m) => m.sequence);
      assert.deepEqual(seqs, [...new Set(seqs)].sort((a, b) => a - b));
      assert.ok(bob.got.synced >= 1);
      assert.equal(bob.got.gaps.length, 0);
      assert.deepEqual(texts(alice, gid), ["hi alice"]);
    } finally {
      await Promise.all([n1.stop(), n2.stop()]);
      cleanup();
    }
  });
});

describe("terminal close codes", () => {
  test("three failed logins close with 4500 and the client does not reconnect", async () => {
    const c = client(auxProxy.url);
    const before = auxProxy.connections;
    await rejects(c.login({ userID: "eve", userSig: "bad" }), 70003);
    await rejects(c.login({ userID: "eve", userSig: "bad" }), 70003);
    await rejects(c.login({ userID: "eve", userSig: "bad" }), 70003);
    await waitFor(() => c.getNetState() === TYPES.NET_STATE_DISCONNECTED, 3000, "disconnected");
    await sleep(1500);
    assert.equal(auxProxy.connections - before, 1, "no reconnect after 4500");
    await rejects(c.getMyProfile(), ERROR_CODE.NETWORK);
    // A new login is the change that allows a new connection.
    const id = uid("eve");
    await c.login({ userID: id, userSig: await aux.token(id) });
    assert.equal(auxProxy.connections - before, 2);
  });

  test("closes 1009 and 4509 end the session; 4001, 4008, 4029 and 1001 reconnect", async () => {
    for (const [code, again] of [[1009, false], [4509, false], [4001, true], [4008, true], [4029, true], [1001, true]]) {
      const c = await loggedIn("close", auxProxy.url, aux);
      const before = auxProxy.connections;
      auxProxy.closeAll(code);
      if (again) {
        await waitFor(() => auxProxy.connections > before && c.getNetState() === TYPES.NET_STATE_CONNECTED, 5000, `reconnect after ${code}`);
        assert.ok((await c.getMyProfile()).data.profile.userID === c.userID);
      } else {
        await waitFor(() => c.getNetState() === TYPES.NET_STATE_DISCONNECTED, 3000, `down after ${code}`);
        await sleep(1200);
        assert.equal(auxProxy.connections, before, `no reconnect after ${code}`);
        assert.equal(c.got.notReady, 1);
      }
      await c.destroy();
    }
  });

  test("a request over the frame limit is refused unsent, not closed with 1009", async () => {
    const c = await loggedIn("big");
    const gid = await publicGroup(c);
    const m = c.createTextMessage({ to: gid, conversationType: TYPES.CONV_GROUP, payload: { text: "é".repeat(40000) } });
    const err = await rejects(c.sendMessage(m), 10004);
    assert.match(err.message, /65536 bytes/);
    assert.equal(c.getNetState(), TYPES.NET_STATE_CONNECTED);
    await rejects(send(c, gid, "x".repeat(13000)), 10004); // over the server's 12,288-byte body limit
    assert.ok((await send(c, gid, "small")).sequence > 0);
  });

  test("4503: a login that takes over kicks the old session, which stays down", async () => {
    const id = uid("dave");
    const first = client(auxProxy.url);
    await first.login({ userID: id, userSig: await aux.token(id) });
    const before = auxProxy.connections;
    const second = client(aux.wsURL);
    await second.login({ userID: id, userSig: await aux.token(id) });
    await waitFor(() => first.got.kicked.length === 1, 3000, "kickedOut");
    assert.deepEqual(first.got.kicked, [TYPES.KICKED_OUT_MULT_ACCOUNT]);
    await waitFor(() => first.getNetState() === TYPES.NET_STATE_DISCONNECTED && first.got.notReady === 1, 3000, "not ready");
    await sleep(1500);
    assert.equal(auxProxy.connections, before, "no reconnect after 4503");
    assert.ok((await second.getMyProfile()).data.profile);
  });

  test("4501 without a tokenRefresher: kickedOut userSigExpired and no reconnect", async () => {
    const id = uid("exp");
    const c = client(auxProxy.url);
    const before = auxProxy.connections;
    await c.login({ userID: id, userSig: sign(id, 2) });
    await waitFor(() => c.got.kicked.length === 1, 6000, "kickedOut");
    assert.deepEqual(c.got.kicked, [TYPES.KICKED_OUT_USERSIG_EXPIRED]);
    await waitFor(() => c.getNetState() === TYPES.NET_STATE_DISCONNECTED, 3000, "disconnected");
    await sleep(1200);
    assert.equal(auxProxy.connections - before, 1);
    assert.equal(c.isReady(), false);
  });

  test("tokenRefresher: refreshes before expiry, and after a 4501 reconnects with a new token", async () => {
    const id = uid("ref");
    let calls = 0;
    const c = client(auxProxy.url, {
      tokenRefresher: async () => {
        calls++;
        if (calls === 1) await sleep(4000); // too slow: the server expires the session first
        return sign(id, 3600);
      },
    });
    const before = auxProxy.connections;
    await c.login({ userID: id, userSig: sign(id, 2) });
    await waitFor(() => auxProxy.connections - before === 2 && c.getNetState() === TYPES.NET_STATE_CONNECTED, 10000, "reconnected with a fresh token");
    assert.ok((await c.getMyProfile()).data.profile.userID === id);
    assert.deepEqual(c.got.kicked, []);
    assert.ok(calls >= 2);

    const id2 = uid("ref");
    const d = client(aux.wsURL, { tokenRefresher: () => sign(id2, 3600) });
    await d.login({ userID: id2, userSig: sign(id2, 2) });
    await sleep(3500); // past exp + grace: the early refresh kept the session
    assert.deepEqual(d.got.kicked, []);
    assert.ok((await d.getMyProfile()).data.profile.userID === id2);
  });
});

test("every public SDK method is called by these tests", () => {
  const src = readFileSync(new URL(import.meta.url), "utf8");
  const names = Object.getOwnPropertyNames(
    Object.getPrototypeOf(create({ url: "ws://127.0.0.1:1/ws", WebSocket, logLevel: 4 })),
  ).filter((k) => k !== "constructor" && !k.startsWith("_"));
  const missing = names.filter((k) => !new RegExp(`\\.${k}\\(`).test(src));
  assert.deepEqual(missing, []);
});
