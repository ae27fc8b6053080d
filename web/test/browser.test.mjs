// The demo app in headless Chromium (Debian's /usr/bin/chromium through
// playwright-core) against chatd on Redis: two people chat in a Public
// group, an admin approves a join request and manages members, an
// anonymous viewer watches a live room, and chatd is restarted mid-chat.
// Screenshots go to web/test/artifacts/. Ports 18090-18099.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { create, TYPES, EVENT } from "../sdk/chat.js";
import { Chatd, REDIS_URL, WebSocket, artifacts, redisPrefix, repoRoot, sleep, waitFor } from "./helpers.mjs";

const { prefix, cleanup } = redisPrefix();
const redis = { CHAT_REDIS_URL: REDIS_URL, CHAT_REDIS_PREFIX: prefix };
const web = new Chatd(18090, { ...redis, CHAT_NODE_ID: "web1" }, "browser-web1"); // serves the pages
const side = new Chatd(18091, { ...redis, CHAT_NODE_ID: "web2" }, "browser-web2"); // for the Node-side bot
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

let browser;
const pages = [];
const bots = [];
let n = 0;
const uid = (name) => `${name}${++n}`;

before(async () => {
  await Promise.all([web.start(), side.start()]);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
});

after(async () => {
  await Promise.all(bots.map((b) => b.destroy()));
  await browser?.close();
  await Promise.all([web.stop(), side.stop()]);
  cleanup();
});

/** page opens the demo in a fresh browser context (its own storage). */
async function page({ width = 1100, height = 720 } = {}) {
  const ctx = await browser.newContext({ viewport: { width, height } });
  const p = await ctx.newPage();
  p.errors = [];
  p.on("pageerror", (e) => p.errors.push(e.message));
  p.on("console", (m) => m.type() === "error" && !/WebSocket|Failed to load resource/.test(m.text()) && p.errors.push(m.text()));
  p.on("dialog", (d) => d.accept());
  await p.goto(web.base + "/");
  pages.push(p);
  return p;
}

async function signIn(p, userID) {
  await p.getByLabel("User ID", { exact: true }).fill(userID);
  await p.getByLabel("User ID", { exact: true }).press("Enter"); // keyboard: Enter submits
  await p.getByText(`Signed in as ${userID}`).waitFor();
  await p.locator("#net[data-state=connected]").waitFor();
}

async function createGroup(p, name, type = "Public", joinOption) {
  await p.getByRole("button", { name: "New group" }).click();
  const d = p.locator("#create-dialog");
  await d.getByLabel("Name", { exact: true }).fill(name);
  await d.getByLabel("Type").selectOption(type);
  if (joinOption) await d.getByLabel("Who may join (Public)").selectOption(joinOption);
  await d.getByRole("button", { name: "Create" }).click();
  await p.locator("#chat-title", { hasText: name }).waitFor();
  return p.evaluate(() => window.chatdDemo.current);
}

async function findAndJoin(p, groupID, button = "Join", note) {
  await p.getByRole("button", { name: "Find or join" }).click();
  await p.getByLabel("Group ID", { exact: true }).fill(groupID);
  await p.getByLabel("Group ID", { exact: true }).press("Enter");
  if (note) await p.getByLabel("Message to the admins").fill(note);
  await p.locator("#find-result").getByRole("button", { name: button }).click();
}

async function say(p, text) {
  const box = p.getByLabel("Message", { exact: true });
  await box.fill(text);
  await box.press("Enter");
  await p.locator(".msg.out .text", { hasText: text }).first().waitFor();
}

const exactly = (text) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
const shown = (p, text) => p.locator(".messages .text", { hasText: exactly(text) });

async function seesOnce(p, text) {
  await shown(p, text).first().waitFor({ timeout: 10000 });
  assert.equal(await shown(p, text).count(), 1, `${text} shown once`);
}

async function shot(p, name) {
  const file = join(artifacts, name);
  await p.evaluate(() => (document.getElementById("toast").hidden = true));
  await p.screenshot({ path: file });
  return file;
}

async function bot(userID, url = side.wsURL) {
  const c = create({ url, WebSocket, logLevel: 4 });
  const sig = await side.token(userID);
  await c.login({ userID, userSig: sig });
  bots.push(c);
  return c;
}

describe("demo app", () => {
  test("two people chat in a Public group, with unread marks and history", async () => {
    const alice = uid("alice");
    const bob = uid("bob");
    const [pa, pb] = await Promise.all([page(), page()]);
    await shot(pa, "signin.png");
    await signIn(pa, alice);
    await signIn(pb, bob);
    const side = await createGroup(pa, "Side talk");
    const gid = await createGroup(pa, "Go fans");
    await findAndJoin(pb, gid);
    await pb.locator("#chat-title", { hasText: "Go fans" }).waitFor();
    await pa.locator(".tip", { hasText: `${bob} joined` }).waitFor();

    await say(pb, "hi alice, ça va ?");
    await seesOnce(pa, "hi alice, ça va ?");
    await say(pa, "hello bob — <b>not bold</b>");
    await seesOnce(pb, "hello bob — <b>not bold</b>");
    assert.equal(await pb.locator(".messages b").count(), 0, "user text is never parsed as HTML");
    await say(pb, "how is the web SDK going?");
    await say(pa, "it reconnects and recovers missed messages now");
    await seesOnce(pb, "it reconnects and recovers missed messages now");

    // a message to a group alice does not have open marks it unread
    await findAndJoin(pb, side);
    await pb.locator("#chat-title", { hasText: "Side talk" }).waitFor();
    await say(pb, "psst");
    const badge = pa.locator(`[data-group="${side}"] .badge`);
    await badge.waitFor();
    assert.equal(await badge.getAttribute("aria-label"), "1 unread");
    await pa.locator(`[data-group="${side}"]`).click();
    await seesOnce(pa, "psst");
    assert.equal(await badge.count(), 0, "opening the group clears the mark");
    await pa.locator(`[data-group="${gid}"]`).click();
    await pa.locator("#chat-title", { hasText: "Go fans" }).waitFor();
    await sleep(200);
    await shot(pa, "chat-desktop.png");

    // history paging: a new page of bob's sees the last 15, then earlier ones
    await pa.evaluate(async (g) => {
      const c = window.chatdDemo.chat;
      for (let i = 1; i <= 20; i++) {
        await c.sendMessage(c.createTextMessage({ to: g, conversationType: "GROUP", payload: { text: `old ${i}` } }));
      }
    }, gid);
    const pb2 = await page({ width: 390, height: 800 });
    await signIn(pb2, bob);
    await pb2.locator(`[data-group="${gid}"]`).click();
    await seesOnce(pb2, "old 20");
    assert.equal(await shown(pb2, "old 5").count(), 0);
    await pb2.getByRole("button", { name: "Load earlier messages" }).click();
    await seesOnce(pb2, "old 5");
    await seesOnce(pb2, "hi alice, ça va ?");
    await shot(pb2, "chat-phone.png");
    await pb2.getByRole("button", { name: "Back to groups" }).click();
    await pb2.locator(".sidebar").waitFor();
    await shot(pb2, "groups-phone.png");
    assert.deepEqual([...pa.errors, ...pb.errors, ...pb2.errors], []);

    // The README's picture: refreshed with UPDATE_DEMO_PNG=1 (or when missing).
    const demo = join(repoRoot, "web/docs/demo.png");
    if (process.env.UPDATE_DEMO_PNG === "1" || !existsSync(demo)) copyFileSync(join(artifacts, "chat-desktop.png"), demo);
    assert.ok(statSync(join(artifacts, "chat-desktop.png")).size < 200 * 1024, "the chat screenshot stays under 200 KB");
  });

  test("an admin approves a join request and manages the member", async () => {
    const owner = uid("olga");
    const asker = uid("carol");
    const [po, pc] = await Promise.all([page(), page()]);
    await signIn(po, owner);
    await signIn(pc, asker);
    const gid = await createGroup(po, "Reviewers", "Public", "NeedPermission");

    await findAndJoin(pc, gid, "Ask to join", "I review Go code");
    await pc.getByText("an admin will decide").waitFor();
    const request = po.locator(`.request[data-applicant="${asker}"]`);
    await request.waitFor();
    await request.getByText("“I review Go code”").waitFor();
    await shot(po, "join-request.png");
    await po.getByRole("button", { name: `Approve ${asker}` }).click();
    await request.waitFor({ state: "detached" });
    await pc.locator(`[data-group="${gid}"]`).waitFor();
    await pc.locator(`[data-group="${gid}"]`).click();
    await say(pc, "thanks for letting me in");
    await seesOnce(po, "thanks for letting me in");

    // members: make admin, mute, name card
    await po.getByRole("button", { name: "Members" }).click();
    const row = po.locator(`.member[data-user="${asker}"]`);
    await row.locator(".role", { hasText: "Member" }).waitFor();
    await po.getByRole("button", { name: `Make admin: ${asker}` }).click();
    await row.locator(".role", { hasText: "Admin" }).waitFor();
    await pc.locator(".tip", { hasText: `made ${asker} an admin` }).waitFor();
    await po.getByRole("button", { name: `Mute 10 min: ${asker}` }).click();
    await row.locator(".muted-mark").waitFor();
    await pc.locator(".tip", { hasText: `muted ${asker}` }).waitFor();
    await po.getByLabel(`Name card of ${asker}`).fill("Carol the Reviewer");
    await po.getByLabel(`Name card of ${asker}`).press("Enter");
    await row.locator(".member-name", { hasText: "Carol the Reviewer" }).waitFor();
    await shot(po, "members.png");
    await po.getByRole("button", { name: `Unmute: ${asker}` }).click();
    await row.locator(".muted-mark").waitFor({ state: "detached" });

    // group profile editing reaches the member
    await po.getByRole("button", { name: "Group", exact: true }).click();
    const panel = po.locator("#panel");
    await panel.getByLabel("Name", { exact: true }).fill("Reviewers (Go)");
    await panel.getByLabel("Introduction").fill("We read diffs.");
    await panel.getByRole("button", { name: "Save" }).click();
    await pc.locator("#chat-title", { hasText: "Reviewers (Go)" }).waitFor();
    await shot(po, "group-settings.png");

    // transfer the group, then the new owner removes the old one
    await po.getByRole("button", { name: "Members" }).click();
    await po.getByRole("button", { name: `Make owner: ${asker}` }).click();
    await pc.locator(".tip", { hasText: `handed the group to ${asker}` }).waitFor();
    await pc.getByRole("button", { name: "Members" }).click();
    await pc.getByRole("button", { name: `Remove: ${owner}` }).click();
    await po.getByText("You were removed from").waitFor();
    await po.locator(`[data-group="${gid}"]`).waitFor({ state: "detached" });
    assert.deepEqual([...po.errors, ...pc.errors], []);
  });

  test("an anonymous viewer watches a live room with its online count", async () => {
    const host = uid("host");
    const ph = await page();
    await signIn(ph, host);
    const room = await createGroup(ph, "Launch stream", "AVChatRoom");
    const pv = await page({ width: 420, height: 760 });
    await pv.getByLabel("Live room ID").fill(room);
    await pv.getByRole("button", { name: "Watch without signing in" }).click();
    await pv.getByText("Watching anonymously", { exact: true }).waitFor();
    await pv.locator("#chat-title", { hasText: "Launch stream" }).waitFor();
    await pv.getByText("You are watching anonymously. Sign in to chat.").waitFor();
    await say(ph, "welcome, viewers");
    await seesOnce(pv, "welcome, viewers");
    await pv.locator("#online", { hasText: "2 online" }).waitFor({ timeout: 12000 });
    await ph.locator("#online", { hasText: "2 online" }).waitFor({ timeout: 12000 });
    await shot(pv, "live-anonymous.png");
    await shot(ph, "live-host.png");
    assert.deepEqual([...ph.errors, ...pv.errors], []);
  });

  test("chatd on Redis restarts mid-chat: both pages recover, nothing missing or twice", { timeout: 60000 }, async () => {
    const a = uid("ann");
    const b = uid("ben");
    const [pa, pb] = await Promise.all([page(), page()]);
    await signIn(pa, a);
    await signIn(pb, b);
    const gid = await createGroup(pa, "Ops");
    await findAndJoin(pb, gid);
    await pb.locator("#chat-title", { hasText: "Ops" }).waitFor();
    const carl = await bot(uid("carl"));
    await carl.joinGroup({ groupID: gid });
    const botSay = (text) => carl.sendMessage(carl.createTextMessage({ to: gid, conversationType: TYPES.CONV_GROUP, payload: { text } }));
    await say(pa, "before the restart");
    await botSay("bot: before");
    await seesOnce(pb, "before the restart");
    await seesOnce(pb, "bot: before");

    // The pages' node drains (4001) and stays down while the bot, on the
    // other node, keeps talking.
    await web.stop("SIGTERM");
    await pa.locator("#net[data-state=connecting]").waitFor();
    await pb.locator("#net[data-state=connecting]").waitFor();
    const missed = [];
    for (let i = 1; i <= 6; i++) {
      missed.push(`bot: while you were away ${i}`);
      await botSay(missed.at(-1));
    }
    await shot(pa, "reconnecting.png");
    await web.start();
    const during = [];
    for (let i = 1; i <= 6; i++) {
      during.push(`bot: during recovery ${i}`);
      await botSay(during.at(-1));
      await sleep(150);
    }
    await pa.locator("#net[data-state=connected]").waitFor({ timeout: 30000 });
    await pb.locator("#net[data-state=connected]").waitFor({ timeout: 30000 });
    await say(pa, "back again");
    for (const p of [pa, pb]) {
      for (const t of [...missed, ...during, "back again", "before the restart", "bot: before"]) await seesOnce(p, t);
      const texts = await p.locator(".messages .text").allTextContents();
      assert.deepEqual(texts, ["before the restart", "bot: before", ...missed, ...during, "back again"], "in order, each once");
      assert.equal(await p.evaluate(() => window.chatdDemo.stats.duplicates), 0);
    }
    await shot(pb, "recovered.png");
    assert.deepEqual([...pa.errors, ...pb.errors], []);
  });
});
