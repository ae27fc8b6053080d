// Test helpers: build and run real chatd processes, sign dev tokens, a
// WebSocket proxy that can cut, blackhole or inject frames, and polling.
import { spawn, execFileSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, mkdirSync, openSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket, { WebSocketServer } from "ws";

export { WebSocket };

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, "../..");
export const artifacts = join(here, "artifacts");
mkdirSync(artifacts, { recursive: true });

export const DEV_SECRET = "chatd-dev-secret-not-for-production";
export const REDIS_URL = process.env.CHAT_TEST_REDIS_URL || "redis://127.0.0.1:6379/0";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let built = process.env.CHATD_BIN || "";

/** chatdBinary builds ./cmd/chatd once per process (unless CHATD_BIN is set). */
export function chatdBinary() {
  if (!built) {
    const dir = mkdtempSync(join(tmpdir(), "chatd-webtest-"));
    built = join(dir, "chatd");
    execFileSync("go", ["build", "-o", built, "./cmd/chatd"], { cwd: repoRoot, stdio: "inherit" });
  }
  return built;
}

/** redisPrefix returns a fresh key prefix and a function deleting its keys. */
export function redisPrefix() {
  const prefix = "webtest" + randomBytes(5).toString("hex");
  const cleanup = () => {
    try {
      execFileSync("bash", ["-c", `redis-cli --scan --pattern '${prefix}*' | xargs -r redis-cli unlink >/dev/null`]);
    } catch (err) {
      console.error("redis cleanup failed:", err.message);
    }
  };
  return { prefix, cleanup };
}

/**
 * Chatd is one chatd process on 127.0.0.1:port; restart() stops it and
 * starts it again on the same port and environment.
 */
export class Chatd {
  constructor(port, env = {}, name = `chatd-${port}`) {
    this.port = port;
    this.env = env;
    this.name = name;
    this.base = `http://127.0.0.1:${port}`;
    this.wsURL = `ws://127.0.0.1:${port}/ws`;
    this.proc = null;
    this.starts = 0;
  }

  async start() {
    const log = join(artifacts, `${this.name}.log`);
    const fd = openSync(log, this.starts++ ? "a" : "w");
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      CHAT_ADDR: `127.0.0.1:${this.port}`,
      CHAT_LOG_LEVEL: "warn",
      CHAT_DRAIN_TIMEOUT: "500ms",
      ...this.env,
    };
    this.proc = spawn(chatdBinary(), [], { env, stdio: ["ignore", fd, fd] });
    closeSync(fd);
    const proc = this.proc;
    this.exited = new Promise((r) => proc.once("exit", r));
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`${this.name} exited with ${proc.exitCode}; see ${log}`);
      try {
        return (await fetch(this.base + "/readyz")).ok;
      } catch {
        return false;
      }
    }, 15000, `${this.name} ready`);
    return this;
  }

  /** stop ends the process: SIGTERM drains (4001), SIGKILL cuts sockets. */
  async stop(signal = "SIGTERM") {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode) return;
    this.proc.kill(signal);
    await this.exited;
  }

  async restart(signal = "SIGTERM", downMs = 0) {
    await this.stop(signal);
    if (downMs) await sleep(downMs);
    return this.start();
  }

  async token(userID) {
    const r = await fetch(`${this.base}/dev/token?userID=${encodeURIComponent(userID)}`);
    if (!r.ok) throw new Error(`dev token for ${userID}: ${r.status}`);
    return (await r.json()).userSig;
  }
}

/** sign makes an HS256 token for userID valid for ttlSeconds (may be < 0). */
export function sign(userID, ttlSeconds, secret = DEV_SECRET) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: userID, iat: now, exp: now + ttlSeconds })}`;
  return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}

/** waitFor polls fn until it returns a truthy value or throws on timeout. */
export async function waitFor(fn, timeoutMs = 5000, what = "condition") {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      if (/exited with/.test(err.message)) throw err;
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last instanceof Error ? ": " + last.message : ""}`);
    await sleep(50);
  }
}

/**
 * Proxy is a WebSocket relay between clients and a chatd, for failures a
 * real network has: cut() closes every client socket abruptly,
 * blackhole(true) swallows client frames, dropPushes(true) drops the
 * server's pushes, mute(true) drops every server frame, delay(text) → ms
 * holds a server frame back (so later frames overtake it), dropIf(text)
 * drops the server frames it is true for, delayUp(text)
 * the same for a client frame, inject(frame) sends a frame to every client, and
 * refuse(true) turns new connections away.
 */
export class Proxy {
  constructor(port, target) {
    this.port = port;
    this.target = target;
    this.url = `ws://127.0.0.1:${port}/ws`;
    this.connections = 0;
    this.pairs = new Set();
    this._blackhole = false;
    this._dropPushes = false;
    this._refuse = false;
    this.dropped = 0;
    this.clientFrames = [];
  }

  start() {
    this.wss = new WebSocketServer({ host: "127.0.0.1", port: this.port });
    this.wss.on("connection", (client) => this._relay(client));
    return new Promise((r) => this.wss.once("listening", r));
  }

  _relay(client) {
    this.connections++;
    if (this._refuse) return client.terminate();
    const upstream = new WebSocket(this.target);
    const pair = { client, upstream, queue: [] };
    this.pairs.add(pair);
    upstream.on("open", () => {
      for (const f of pair.queue) upstream.send(f);
      pair.queue = null;
    });
    client.on("message", (data) => {
      const text = data.toString();
      this.clientFrames.push(text);
      if (this._blackhole) return;
      const forward = () => {
        if (pair.queue) pair.queue.push(text);
        else if (upstream.readyState === 1) upstream.send(text);
      };
      const wait = this.delayUp?.(text) || 0;
      if (wait > 0) setTimeout(forward, wait);
      else forward();
    });
    upstream.on("message", (data) => {
      const text = data.toString();
      if (this._mute || (this._dropPushes && text.startsWith('{"event"')) || this.dropIf?.(text)) {
        this.dropped++;
        return;
      }
      const wait = this.delay?.(text) || 0;
      if (wait > 0) setTimeout(() => client.readyState === 1 && client.send(text), wait);
      else if (client.readyState === 1) client.send(text);
    });
    const end = (code) => {
      this.pairs.delete(pair);
      const c = code >= 3000 && code <= 4999 ? code : 1000;
      if (client.readyState <= 1) client.close(c);
      if (upstream.readyState <= 1) upstream.close();
    };
    upstream.on("close", (code) => end(code));
    client.on("close", () => end(1000));
    upstream.on("error", () => client.terminate());
    client.on("error", () => upstream.terminate());
  }

  /** closeAll closes every client socket with code, as the server would. */
  closeAll(code, reason = "") {
    for (const { client, upstream } of this.pairs) {
      client.close(code, reason);
      upstream.terminate();
    }
    this.pairs.clear();
  }

  /** cut drops every connection at once, as a lost network would. */
  cut() {
    for (const { client, upstream } of this.pairs) {
      client.terminate();
      upstream.terminate();
    }
    this.pairs.clear();
  }

  blackhole(on) {
    this._blackhole = on;
  }

  dropPushes(on) {
    this._dropPushes = on;
  }

  /** mute drops every server frame, replies included. */
  mute(on) {
    this._mute = on;
  }

  refuse(on) {
    this._refuse = on;
  }

  inject(frame) {
    const text = JSON.stringify(frame);
    for (const { client } of this.pairs) client.send(text);
  }

  close() {
    this.cut();
    return new Promise((r) => this.wss.close(r));
  }
}

/** recorder collects a client's events by name. */
export function recorder(client, names) {
  const got = Object.fromEntries(names.map((n) => [n, []]));
  for (const n of names) client.on(n, (e) => got[n].push(e.data));
  return got;
}
