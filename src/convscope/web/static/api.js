// The page's one way to the engine: the JSON API of `convscope serve`, or, in an exported
// page, the snapshot of it embedded in the file (no server, works from file://).
const snapshotNode = document.getElementById("snapshot");
export const snapshot = snapshotNode ? JSON.parse(snapshotNode.textContent) : null;
export const offline = snapshot !== null;

/** An error the API answered with its one sentence. */
export class ApiError extends Error {}

/** GET (body undefined) or POST JSON / a picture (a Blob) to /api/PATH; the decoded answer. */
export async function call(path, body, { signal } = {}) {
  if (offline) {
    if (path in snapshot.answers) return snapshot.answers[path];
    throw new ApiError(`this exported page has no server: run "convscope serve" for ${path}`);
  }
  const init = { signal, headers: {} };
  if (body instanceof Blob) {
    init.method = "POST";
    init.body = body;
    init.headers["Content-Type"] = body.type || "application/octet-stream";
  } else if (body !== undefined) {
    init.method = "POST";
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(`/api/${path}`, init);
  const type = response.headers.get("Content-Type") || "";
  if (!response.ok) {
    const answer = type.includes("json") ? await response.json() : { error: await response.text() };
    throw new ApiError(answer.error || `${response.status} ${response.statusText}`);
  }
  return type.includes("json") ? response.json() : response.blob();
}

/**
 * Latest-only requests, at most one every ``interval`` ms: one in flight at a time; while it
 * runs (or while the interval is not over), newer calls wait and only the newest waiting one
 * is sent, the others are dropped unsent (a drawing never queues stale pictures). Answers
 * arrive in the order of the calls. run(make) -> Promise of the answer, or of null when a
 * newer call superseded this one before it was sent.
 */
export class Latest {
  constructor(interval = 0) {
    this.interval = interval;
    this.busy = false;
    this.waiting = null;
    this.lastStart = -Infinity;
  }

  run(make) {
    return new Promise((resolve, reject) => {
      if (this.waiting) this.waiting.resolve(null); // superseded before it was sent
      this.waiting = { make, resolve, reject };
      this.next();
    });
  }

  async next() {
    if (this.busy || !this.waiting) return;
    this.busy = true;
    const wait = this.interval - (performance.now() - this.lastStart);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const job = this.waiting; // the newest, after the wait
    this.waiting = null;
    try {
      const answer = job.make(); // its synchronous part (e.g. encoding a drawing) runs first,
      this.lastStart = performance.now(); // so the interval is counted from the request itself
      job.resolve(await answer);
    } catch (err) {
      job.reject(err);
    } finally {
      this.busy = false;
      this.next();
    }
  }
}
