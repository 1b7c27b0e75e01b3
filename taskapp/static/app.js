// The task page: an offline-first client of the public API (SPEC 2, 7, 8, 9 and 10).
//
// Three things are kept in IndexedDB, one database per API and account:
// - tasks: the local copy, exactly what the server said, kept current by the change feed;
// - outbox: every change the person made that the server has not yet confirmed, in order;
// - meta: the feed's syncToken.
// What the page shows is the local copy with the outbox laid over it, filtered and sorted
// here by the rules of SPEC 8 (the copy holds every task after the first sync), so every
// view works offline and shows unsent changes at once.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  // How often the feed is polled while the page is visible (?poll=SECONDS, for tests).
  const POLL_MS = Math.max(0.2, Number(params.get("poll")) || 5) * 1000;

  // --- Which API: this stage's own (under its prefix), or ?api= on an origin it allows.

  const originOf = (url) => {
    try {
      return new URL(url).origin;
    } catch {
      return "null";
    }
  };
  const allowed = new Set([location.origin]);
  for (const origin of document.querySelector("meta[name=api-origins]").content.split(" ")) {
    if (origin) allowed.add(originOf(origin));
  }
  const asked = params.get("api");
  const API = (asked || new URL(".", location.href).href).replace(/\/+$/, "");

  function say(text, ok) {
    if ($("message").textContent === text) return;
    $("message").textContent = text;
    $("message").className = ok ? "ok" : "";
  }

  if (asked !== null && !allowed.has(originOf(asked))) {
    // Refused before anything is sent: the page never talks to, nor shows text from, an API
    // that the stage that served it does not name.
    $("app").remove();
    say(
      `This page does not talk to ${asked}: it works only with ${[...allowed].join(", ")}. ` +
        "Ask for the origin to be added to the stage's APP_API_ORIGINS.",
    );
    return;
  }
  $("origin").textContent = "API: " + API;

  // --- Who is calling (SPEC 7): an optional bearer token the person pastes, kept per API in
  // this browser and sent with every call. Each account has its own database, so signing in
  // or out (which reloads the page) never mixes one owner's tasks or changes with another's.

  const TOKEN_KEY = "taskapp token " + API;
  const stored = (area, key) => {
    try {
      return area.getItem(key);
    } catch {
      return null; // storage is off in this browser: no one is signed in
    }
  };
  const token = stored(localStorage, TOKEN_KEY);

  // What the token says about its holder, read without verifying it: only to name the account
  // here (the API verifies it). null when it is not a JWT.
  function claimsOf(jwt) {
    try {
      const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const bytes = Uint8Array.from(atob(part.padEnd(Math.ceil(part.length / 4) * 4, "=")), (c) =>
        c.charCodeAt(0),
      );
      const claims = JSON.parse(new TextDecoder().decode(bytes));
      return claims && typeof claims === "object" ? claims : null;
    } catch {
      return null;
    }
  }

  // A short name for a token that is not a JWT, to name its database (FNV-1a).
  function digest(text) {
    let hash = 0x811c9dc5;
    for (const char of text) hash = Math.imul(hash ^ char.codePointAt(0), 0x01000193) >>> 0;
    return hash.toString(16);
  }

  const claims = token && claimsOf(token);
  const account = !token ? "" : typeof claims?.sub === "string" ? claims.sub : "#" + digest(token);
  const DATABASE = "taskapp " + API + (account ? " as " + account : "");

  function showAccount() {
    const who = $("who");
    if (!token) return;
    const name = typeof claims?.sub === "string" ? claims.sub : null;
    $("account-summary").textContent = name ? `Signed in as ${name}` : "Signed in";
    const email = typeof claims?.email === "string" ? claims.email : null;
    const verified = claims?.email_verified === true || claims?.email_verified === "true";
    who.textContent =
      (name ? `Signed in as ${name}` : "Signed in with a token") +
      (email ? ` (${email}${verified ? "" : ", not verified"}).` : ".") +
      (email && verified ? "" : " Reminders need a token with a verified email address.");
    who.hidden = false;
    $("sign-out").hidden = false;
  }

  // Sent once what is being sent has been answered, so that nothing leaves twice.
  const quiet = () => Promise.race([running, new Promise((done) => setTimeout(done, 3000))]);

  $("sign-in").addEventListener("submit", async (event) => {
    event.preventDefault();
    const pasted = $("token").value.trim().replace(/^Bearer\s+/i, "");
    if (!/^[\x21-\x7e]+$/.test(pasted)) {
      say("That is not a token: a bearer token is one word, with no spaces.");
      $("token").focus();
      return;
    }
    await quiet();
    localStorage.setItem(TOKEN_KEY, pasted);
    sessionStorage.setItem("taskapp account", "in");
    location.reload();
  });

  $("sign-out").addEventListener("click", async () => {
    await quiet();
    localStorage.removeItem(TOKEN_KEY);
    sessionStorage.setItem("taskapp account", "out");
    // The account's copy leaves this device with it, unless changes wait in it: those are kept
    // and sent when the person signs in again.
    const waiting = db ? await inStores(["outbox"], "readonly", (store) => store.count()) : 1;
    if (!waiting) {
      db.close();
      await new Promise((done) => {
        const request = indexedDB.deleteDatabase(DATABASE);
        request.onsuccess = request.onerror = request.onblocked = done;
      });
    }
    location.reload();
  });

  // Another tab signed in or out: this one follows, as the same person.
  addEventListener("storage", (event) => event.key === TOKEN_KEY && location.reload());

  // --- IndexedDB

  let db;

  function openDatabase() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DATABASE, 1);
      request.onupgradeneeded = () => {
        request.result.createObjectStore("tasks", { keyPath: "taskId" });
        request.result.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true });
        request.result.createObjectStore("meta");
      };
      request.onsuccess = () => {
        // Another tab signed this account out and removes its copy: this tab lets it go.
        request.result.onversionchange = () => {
          request.result.close();
          location.reload();
        };
        resolve(request.result);
      };
      request.onerror = () => reject(request.error);
    });
  }

  // One transaction over ``names``: ``work`` gets their stores; resolves when it commits, with
  // the result of the request ``work`` returns, if any.
  function inStores(names, mode, work) {
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(names, mode);
      const request = work(...names.map((name) => transaction.objectStore(name)));
      transaction.oncomplete = () => resolve(request && request.result);
      transaction.onerror = transaction.onabort = () => reject(transaction.error);
    });
  }

  // --- The state: the local copy, the outbox, the feed's token, what is on screen.

  const copy = new Map(); // taskId -> task as the server last said
  let outbox = []; // [{seq, op, taskId, ...}] oldest first
  let syncToken = null;
  let view = "all";
  let editing = null; // {taskId, form} while a task's edit form is open
  let conflict = null; // {entry, theirs} while the person chooses
  let changed = false; // the copy or the outbox changed since the list was last drawn
  let drawnAt = 0; // when it was drawn: "now" moves, and with it Overdue, Today and Upcoming
  // A change names the task as the list showed it. When the list was drawn before the answer
  // to an earlier change of this page's own (a create, an edit), it still shows the id the
  // task had here and the version before that change: these say what they became.
  let realIds = new Map(); // id given here -> id the server gave
  const successors = new Map(); // taskId -> Map(version -> version this page's change made)

  // --- Talking to the API

  async function call(method, path, { body, headers = {} } = {}) {
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = "Bearer " + token;
    const response = await fetch(API + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
    const data = await response.json().catch(() => null);
    if (response.status >= 500 || response.status === 429 || response.status === 401) {
      // Not an answer about this change (the API is unwell, busy, or wants to know who is
      // asking): keep it and try again later.
      throw Object.assign(new Error((data && data.error) || response.statusText), {
        status: response.status,
      });
    }
    return { status: response.status, data };
  }

  const etag = (version) => `"${version}"`;

  // --- The change feed (SPEC 9): upsert tasks keeping the higher version, drop tombstones;
  // a 410 means the token is too old (a 400, that it is unreadable), so the copy is dropped
  // and rebuilt from nothing.

  async function sync() {
    for (;;) {
      const query = syncToken ? `since=${encodeURIComponent(syncToken)}&limit=500` : "limit=500";
      const { status, data } = await call("GET", "/tasks/changes?" + query);
      if (status === 410 || (status === 400 && syncToken)) {
        copy.clear();
        syncToken = null;
        changed = true;
        await inStores(["tasks", "meta"], "readwrite", (tasks, meta) => {
          tasks.clear();
          meta.delete("syncToken");
        });
        continue;
      }
      if (status !== 200) {
        throw Object.assign(new Error((data && data.error) || "no answer"), { status });
      }
      // The feed sends the last moments' changes again: what this copy already holds changes
      // nothing, and is not drawn again (a redraw replaces the row under the person's pointer).
      const fresh = data.tasks.filter((task) => !(copy.get(task.taskId)?.version >= task.version));
      const gone = data.deleted.filter((tombstone) => copy.has(tombstone.taskId));
      for (const task of fresh) copy.set(task.taskId, task);
      for (const tombstone of gone) copy.delete(tombstone.taskId);
      changed ||= fresh.length > 0 || gone.length > 0;
      syncToken = data.syncToken;
      await inStores(["tasks", "meta"], "readwrite", (tasks, meta) => {
        for (const task of fresh) tasks.put(task);
        for (const tombstone of gone) tasks.delete(tombstone.taskId);
        meta.put(syncToken, "syncToken");
      });
      if (!data.hasMore) return;
    }
  }

  // --- The outbox: replayed in order, each change once. A create carries the Idempotency-Key
  // made when it was queued, so a retry after a lost answer creates nothing new; updates and
  // deletes carry If-Match of the version the person's change was made on.

  let queuing = 0; // changes on their way into the outbox, which a status must not call saved

  async function queue(entry) {
    queuing += 1;
    $("connection").textContent = "Saving…";
    try {
      await loaded; // a task added before the page has read what this device keeps waits for it
      catchUp(entry);
      entry.seq = await inStores(["outbox"], "readwrite", (store) => store.add(entry));
      // A flush may have read it from the database already.
      if (!outbox.some((other) => other.seq === entry.seq)) outbox.push(entry);
    } finally {
      queuing -= 1;
    }
    render();
    tick();
  }

  // Replace ``done`` (and ``dropped``) with what follows from the server's answer, in one
  // transaction with the local copy, so that a reload never replays a confirmed change.
  async function settle(done, task, { dropped = [], removed = null } = {}) {
    const gone = new Set([done, ...dropped].map((entry) => entry.seq));
    outbox = outbox.filter((entry) => !gone.has(entry.seq));
    changed = true;
    const rebased = [];
    if (task) {
      copy.set(task.taskId, task);
      // Later changes to this task were made on top of this one: they now name its version,
      // and those to a task created offline now name its real id.
      for (const entry of outbox) {
        if (entry.taskId === done.taskId || entry.taskId === task.taskId) {
          Object.assign(entry, { taskId: task.taskId, base: task.version });
          rebased.push(entry);
        }
      }
    }
    if (removed) copy.delete(removed);
    if (task) {
      if (done.op === "create") realIds.set(done.taskId, task.taskId);
      if (!successors.has(task.taskId)) successors.set(task.taskId, new Map());
      successors.get(task.taskId).set(done.op === "create" ? 0 : done.base, task.version);
    }
    await inStores(["tasks", "outbox", "meta"], "readwrite", (tasks, store, meta) => {
      meta.put([...realIds], "realIds");
      for (const seq of gone) store.delete(seq);
      for (const entry of rebased) store.put(entry);
      if (task) tasks.put(task);
      if (removed) tasks.delete(removed);
    });
  }

  // Moved on past this page's own confirmed changes only, never past one made elsewhere.
  function catchUp(entry) {
    if (entry.op === "create") return;
    entry.taskId = realIds.get(entry.taskId) ?? entry.taskId;
    const next = successors.get(entry.taskId);
    while (next && next.has(entry.base)) entry.base = next.get(entry.base);
  }

  async function replay(entry) {
    catchUp(entry);
    const path = "/tasks/" + entry.taskId;
    const later = outbox.filter((other) => other !== entry && other.taskId === entry.taskId);
    if (entry.op === "create") {
      const { status, data } = await call("POST", "/tasks", {
        body: entry.body,
        headers: { "Idempotency-Key": entry.key },
      });
      if (status === 201) return settle(entry, data.task);
      say(`"${entry.body.title}" was not added: ${data && data.error}`);
      return settle(entry, null, { dropped: later });
    }
    const { status, data } = await call(entry.op === "update" ? "PATCH" : "DELETE", path, {
      body: entry.op === "update" ? entry.changes : undefined,
      headers: { "If-Match": etag(entry.base) },
    });
    if (status === 200 && entry.op === "update") return settle(entry, data.task);
    if (status === 200) return settle(entry, null, { removed: entry.taskId });
    if (status === 404) {
      if (entry.op === "update") say(`A task you changed was deleted elsewhere: "${title(entry)}".`);
      return settle(entry, null, { dropped: later, removed: entry.taskId });
    }
    if (status === 412) {
      const answer = await call("GET", path);
      if (answer.status === 404) return settle(entry, null, { dropped: later, removed: entry.taskId });
      conflict = { entry, theirs: answer.data.task };
      copy.set(entry.taskId, answer.data.task);
      showConflict();
      return;
    }
    if (status === 400 && aboutReminder(entry, data)) return refuseReminder(entry, data);
    say(`A change to "${title(entry)}" was refused: ${data && data.error}`);
    return settle(entry, null);
  }

  const title = (entry) => copy.get(entry.taskId)?.title || "?";

  const REMINDER = ["reminderEnabled", "reminderAt"];

  // A 400 that names the reminder of a change that sets one: the caller has no verified email
  // address, or the reminder has no time to fire at (SPEC 10).
  function aboutReminder(entry, data) {
    if (entry.op !== "update" || !REMINDER.some((name) => name in entry.changes)) return false;
    const named = Object.keys((data && data.details) || {});
    const error = (data && data.error) || "";
    return named.some((name) => REMINDER.includes(name)) || /reminder/i.test(error);
  }

  // Only the reminder is refused: the change's other fields are sent again without it, and the
  // task's editor opens again with the reminder as the person chose it and the API's sentence.
  async function refuseReminder(entry, data) {
    const part = (reminder) =>
      Object.fromEntries(
        Object.entries(entry.changes).filter(([name]) => REMINDER.includes(name) === reminder),
      );
    const refused = { changes: part(true), error: data.error };
    const others = part(false);
    if (Object.keys(others).length) {
      entry.changes = others;
      await inStores(["outbox"], "readwrite", (store) => store.put(entry));
    } else {
      await settle(entry, null);
    }
    changed = true;
    const task = current().get(entry.taskId);
    const row = task && document.querySelector(`[data-task-id="${CSS.escape(task.taskId)}"]`);
    if (!row || editing) {
      say(`The reminder of "${title(entry)}" was not set: ${data.error}`);
      return;
    }
    // The focus moves to it unless the person is typing elsewhere meanwhile.
    const active = document.activeElement;
    const typing = active && active.matches("input:not([type=checkbox]), textarea, select");
    edit(task, { refused, focus: !typing });
  }

  // One tab at a time sends the outbox, as the database holds it: two tabs of the page share
  // it, and each change must leave once.
  async function flush() {
    const send = async () => {
      outbox = await inStores(["outbox"], "readonly", (store) => store.getAll());
      while (outbox.length && !conflict) await replay(outbox[0]);
    };
    return navigator.locks ? navigator.locks.request("outbox of " + DATABASE, send) : send();
  }

  // --- Staying current: send what waits, then read the feed; again every POLL_MS while the
  // page is visible, at once when the browser is back online.

  let running = null;
  let again = false;

  function tick() {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await flush();
          await sync();
          online(true);
        } catch (error) {
          online(false, error);
        }
        if (changed || Date.now() - drawnAt > 60_000) render();
      } while (again);
    })().finally(() => {
      running = null;
    });
    return running;
  }

  // Live regions are read aloud when their text changes, so it changes only when it must.
  function show(element, text) {
    if (element.textContent !== text) element.textContent = text;
  }

  let trouble = null; // what the page last said about not reaching the API, until it does

  function online(reached, error) {
    const unsent = outbox.length;
    const waiting = unsent === 1 ? "1 change not yet sent" : `${unsent} changes not yet sent`;
    const status = $("connection");
    status.classList.toggle("offline", !reached);
    if (reached) {
      const saved = queuing ? "Saving…" : "All changes saved";
      show(status, conflict ? waiting + ": choose a version" : unsent ? waiting : saved);
      if (trouble !== null && $("message").textContent === trouble) say("");
      trouble = null;
      return;
    }
    let text;
    if (error.status === 401) {
      // The API wants to know who is asking (SPEC 7): the person signs in, nothing is lost.
      show(status, `Not signed in: ${waiting}`);
      text = token
        ? `The API refused your sign-in (${error.message}): sign in again with a new token. ` +
          "Your changes are kept on this device."
        : `The API asks you to sign in (${error.message}): open "Sign in" above and paste a ` +
          "token. Your changes are kept on this device.";
      if (text !== trouble) $("account").open = true; // once: the person may close it again
    } else if (error instanceof TypeError) {
      show(status, `Offline: ${waiting}`);
      text = "Cannot reach the API: your changes are kept on this device and sent when it answers.";
    } else {
      show(status, `Offline: ${waiting}`);
      text = `The API answered ${error.status}: ${error.message}. Your changes are kept on this device.`;
    }
    say(text);
    trouble = text;
  }

  // --- What is shown: the copy with the outbox laid over it.

  function current() {
    const tasks = new Map([...copy].map(([id, task]) => [id, { ...task }]));
    for (const entry of outbox) {
      if (entry.op === "create") {
        tasks.set(entry.taskId, {
          taskId: entry.taskId,
          description: "",
          status: "pending",
          priority: "medium",
          category: null,
          tags: [],
          dueDate: null,
          reminderEnabled: false,
          reminderAt: null,
          version: 0,
          order: entry.seq,
          ...entry.body,
        });
      } else if (entry.op === "delete") {
        tasks.delete(entry.taskId);
      } else if (tasks.has(entry.taskId)) {
        Object.assign(tasks.get(entry.taskId), entry.changes);
      }
    }
    const unsent = new Set(outbox.map((entry) => entry.taskId));
    for (const task of tasks.values()) task.unsent = unsent.has(task.taskId);
    return tasks;
  }

  // The views and filters as GET /tasks would take them (SPEC 8). "Today" is the browser's
  // local day, midnight to midnight, sent as UTC instants.
  const VIEWS = {
    today() {
      const start = new Date();
      start.setHours(0, 0, 0, 0);
      const end = new Date(start);
      end.setDate(end.getDate() + 1);
      return { dueAfter: start.toISOString(), dueBefore: end.toISOString() };
    },
    overdue: () => ({ status: "pending", dueBefore: new Date().toISOString() }),
    upcoming: () => ({ status: "pending", dueAfter: new Date().toISOString() }),
    all: () => ({}),
    completed: () => ({ status: "completed" }),
  };

  function filters() {
    const chosen = VIEWS[view]();
    for (const name of ["q", "priority", "category", "tag"]) {
      const value = $(name).value.trim();
      if (value) chosen[name] = value;
    }
    return chosen;
  }

  // Case folded as the server folds it (Python's casefold): upper then lower case turns "ß"
  // into "ss" and "ﬁ" into "fi", where lower case alone would not.
  function fold(text) {
    return text.toUpperCase().toLowerCase();
  }

  // SPEC 8's rules: due bounds are [dueAfter, dueBefore) and leave out tasks with no due date;
  // category and tag match exactly; q is in the title or description, ignoring case.
  function admits(task, f) {
    const due = task.dueDate ? Date.parse(task.dueDate) : null;
    if (f.status && task.status !== f.status) return false;
    if ((f.dueAfter || f.dueBefore) && due === null) return false;
    if (f.dueAfter && due < Date.parse(f.dueAfter)) return false;
    if (f.dueBefore && due >= Date.parse(f.dueBefore)) return false;
    if (f.priority && task.priority !== f.priority) return false;
    if (f.category && task.category !== f.category) return false;
    if (f.tag && !(task.tags || []).includes(f.tag)) return false;
    if (f.q) {
      const needle = fold(f.q);
      return [task.title, task.description || ""].some((text) => fold(text).includes(needle));
    }
    return true;
  }

  // With a due bound, earliest due first; otherwise newest first. taskIds are in creation
  // order; tasks not yet sent are the newest of all.
  const created = (task) =>
    task.version === 0 ? "~" + String(task.order).padStart(12, "0") : task.taskId;
  const compare = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

  function render() {
    changed = false;
    drawnAt = Date.now();
    const f = filters();
    const byDue = Boolean(f.dueAfter || f.dueBefore);
    const shown = [...current().values()]
      .filter((task) => admits(task, f))
      .sort((a, b) =>
        byDue
          ? Date.parse(a.dueDate) - Date.parse(b.dueDate) || compare(created(a), created(b))
          : compare(created(b), created(a)),
      );
    const focused = document.activeElement && document.activeElement.id;
    $("tasks").replaceChildren(...shown.map(item));
    if (editing && !shown.some((task) => task.taskId === editing.taskId)) editing = null;
    $("empty").hidden = shown.length > 0;
    if (focused && $(focused) && document.activeElement !== $(focused)) $(focused).focus();
  }

  const when = (iso) =>
    new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });

  // A pending task's reminder (SPEC 10): a bell, and when it fires in the browser's time (its
  // own time, or else the due date's).
  function reminderOf(task) {
    const at = task.reminderAt || task.dueDate;
    if (!task.reminderEnabled || task.status !== "pending" || !at) return null;
    const reminder = document.createElement("span");
    reminder.className = "reminder";
    reminder.append(bell(), " Reminder " + when(at));
    return reminder;
  }

  // Drawn here rather than an emoji, which not every system has a font for.
  function bell() {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 16 16");
    svg.setAttribute("class", "bell");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS(svg.namespaceURI, "path");
    path.setAttribute(
      "d",
      "M8 1a1 1 0 0 1 1 1v.6a4.5 4.5 0 0 1 3.5 4.4v3.2l1.5 2.3H2l1.5-2.3V7A4.5 4.5 0 0 1 7 2.6V2" +
        "a1 1 0 0 1 1-1zM6.1 13.8h3.8a1.9 1.9 0 0 1-3.8 0z",
    );
    svg.append(path);
    return svg;
  }

  function button(text, id, action) {
    const element = document.createElement("button");
    element.type = "button";
    element.id = id;
    element.name = text.toLowerCase();
    element.textContent = text;
    element.addEventListener("click", action);
    return element;
  }

  function item(task) {
    const li = document.createElement("li");
    li.dataset.taskId = task.taskId;
    li.className = task.status;
    if (editing && editing.taskId === task.taskId) {
      li.append(editing.form);
      return li;
    }
    const done = document.createElement("input");
    done.type = "checkbox";
    done.id = "done-" + task.taskId;
    done.name = "completed";
    done.checked = task.status === "completed";
    done.setAttribute("aria-describedby", "meta-" + task.taskId);
    done.addEventListener("change", () =>
      change(task, { status: done.checked ? "completed" : "pending" }),
    );
    const label = document.createElement("label");
    label.htmlFor = done.id;
    label.className = "title";
    label.textContent = task.title;
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.id = "meta-" + task.taskId;
    const facts = [];
    if (task.dueDate) {
      const late = task.status === "pending" && Date.parse(task.dueDate) < Date.now();
      const due = document.createElement("span");
      due.className = late ? "overdue" : "";
      due.textContent = (late ? "Overdue: " : "Due ") + when(task.dueDate);
      facts.push(due);
    }
    const reminder = reminderOf(task);
    if (reminder) facts.push(reminder);
    facts.push(task.priority + " priority");
    if (task.category) facts.push(task.category);
    for (const tag of task.tags || []) facts.push("#" + tag);
    if (task.unsent) {
      const unsent = document.createElement("span");
      unsent.className = "unsent";
      unsent.textContent = "not yet sent";
      facts.push(unsent);
    }
    facts.forEach((fact, index) => meta.append(...(index ? [" · ", fact] : [fact])));
    li.append(
      done,
      label,
      button("Edit", "edit-" + task.taskId, () => edit(task)),
      button("Delete", "delete-" + task.taskId, () => remove(task)),
      meta,
    );
    return li;
  }

  // --- Editing a task: title, description, due date and reminder in the browser's time zone,
  // priority, category, tags.

  const localInput = (iso) => {
    if (!iso) return "";
    const d = new Date(iso);
    const two = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`;
  };

  function field(form, name, text, control, wide) {
    const box = document.createElement("div");
    box.className = wide ? "field wide" : "field";
    const label = document.createElement("label");
    control.id = `${name}-${form.dataset.taskId}`;
    control.name = name;
    label.htmlFor = control.id;
    label.textContent = text;
    box.append(label, control);
    form.append(box);
    return control;
  }

  function input(type, value, max) {
    const control = document.createElement("input");
    control.type = type;
    control.value = value;
    if (max) control.maxLength = max;
    return control;
  }

  // ``refused``: a reminder the API refused ({changes, error}), shown again with its sentence
  // next to it; ``focus``: whether the form takes the focus (not while the person types elsewhere).
  function edit(task, { refused = null, focus = true } = {}) {
    const form = document.createElement("form");
    form.dataset.taskId = task.taskId;
    form.setAttribute("aria-label", "Edit " + task.title);
    const titleInput = field(form, "title", "Title", input("text", task.title, 200), true);
    titleInput.required = true;
    const description = document.createElement("textarea");
    description.value = task.description || "";
    description.maxLength = 1000;
    description.rows = 2;
    field(form, "description", "Description", description, true);
    field(form, "due", "Due", input("datetime-local", localInput(task.dueDate)));
    const priority = document.createElement("select");
    for (const level of ["high", "medium", "low"]) priority.add(new Option(level[0].toUpperCase() + level.slice(1), level));
    priority.value = task.priority;
    field(form, "priority", "Priority", priority);
    field(form, "category", "Category", input("text", task.category || "", 50));
    field(form, "tags", "Tags (comma-separated)", input("text", (task.tags || []).join(", ")));
    const reminder = reminderFields(form, task, refused);
    const buttons = document.createElement("div");
    buttons.className = "row wide";
    const save = button("Save", "save-" + task.taskId, () => {});
    save.type = "submit";
    save.className = "primary";
    buttons.append(save, button("Cancel", "cancel-" + task.taskId, close));
    form.append(buttons);
    form.addEventListener("keydown", (event) => event.key === "Escape" && close());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const values = new FormData(form);
      const due = values.get("due");
      const remindAt = values.get("reminderAt");
      const wanted = {
        title: values.get("title").trim(),
        description: values.get("description"),
        dueDate: due ? new Date(due).toISOString() : null,
        priority: values.get("priority"),
        category: values.get("category").trim() || null,
        tags: [...new Set(values.get("tags").split(",").map((tag) => tag.trim()).filter(Boolean))],
        reminderEnabled: values.get("reminderEnabled") === "on",
        reminderAt: remindAt ? new Date(remindAt).toISOString() : null,
      };
      if (wanted.reminderEnabled && !remindAt && !due) {
        // The API's rule (SPEC 10), told before anything is queued: it would be refused.
        reminder.refuse("Choose a reminder time, or a due date to be reminded at.");
        reminder.time.focus();
        return;
      }
      const changes = {};
      for (const [name, value] of Object.entries(wanted)) {
        if (JSON.stringify(value) !== JSON.stringify(task[name] ?? UNSET[name] ?? null)) {
          changes[name] = value;
        }
      }
      // An unchanged time keeps the server's own spelling of it.
      if ("dueDate" in changes && due && due === localInput(task.dueDate)) delete changes.dueDate;
      if ("reminderAt" in changes && remindAt && remindAt === localInput(task.reminderAt)) {
        delete changes.reminderAt;
      }
      close();
      if (Object.keys(changes).length) change(task, changes);
    });
    editing = { taskId: task.taskId, form };
    render();
    if (refused && focus) reminder.enabled.focus();
    else if (focus) titleInput.focus();

    function close() {
      editing = null;
      render();
      $("edit-" + task.taskId)?.focus();
    }
  }

  // What a task without these fields (from an API before reminders, or not yet sent) means.
  const UNSET = { tags: [], reminderEnabled: false };

  // "Remind me" and "Reminder time" (empty: at the due date), with room for the API's sentence
  // when it refuses the reminder.
  function reminderFields(form, task, refused) {
    const group = document.createElement("fieldset");
    group.className = "reminder wide";
    const legend = document.createElement("legend");
    legend.textContent = "Reminder";
    const id = form.dataset.taskId;
    const enabled = input("checkbox", "on");
    enabled.id = `reminderEnabled-${id}`;
    enabled.name = "reminderEnabled";
    enabled.checked = Boolean(refused?.changes.reminderEnabled ?? task.reminderEnabled);
    const enabledLabel = document.createElement("label");
    enabledLabel.htmlFor = enabled.id;
    enabledLabel.textContent = "Remind me";
    const check = document.createElement("div");
    check.className = "check";
    check.append(enabled, enabledLabel);
    const chosen = refused && "reminderAt" in refused.changes ? refused.changes : task;
    const time = input("datetime-local", localInput(chosen.reminderAt));
    time.id = `reminderAt-${id}`;
    time.name = "reminderAt";
    const timeLabel = document.createElement("label");
    timeLabel.htmlFor = time.id;
    timeLabel.textContent = "Reminder time";
    const hint = document.createElement("p");
    hint.className = "hint";
    hint.id = `reminder-hint-${id}`;
    hint.textContent = "Empty: at the due date. In your time zone.";
    time.setAttribute("aria-describedby", hint.id);
    const box = document.createElement("div");
    box.className = "field";
    box.append(timeLabel, time, hint);
    const error = document.createElement("p");
    error.className = "error";
    error.id = `reminder-error-${id}`;
    error.setAttribute("role", "alert");
    group.append(legend, check, box, error);
    form.append(group);
    function refuse(text) {
      error.textContent = text;
      enabled.setAttribute("aria-invalid", "true");
      enabled.setAttribute("aria-describedby", error.id);
    }
    if (refused) refuse(refused.error);
    return { enabled, time, refuse };
  }

  // --- The person's changes: each one goes to the outbox first, then to the server.

  function change(task, changes) {
    return queue({ op: "update", taskId: task.taskId, base: task.version, changes });
  }

  async function remove(task) {
    // Focus moves to the next task (or the one before), not to the top of the page.
    const item = document.querySelector(`[data-task-id="${task.taskId}"]`);
    const next = item && (item.nextElementSibling || item.previousElementSibling);
    say(`Deleted "${task.title}".`, true);
    await queue({ op: "delete", taskId: task.taskId, base: task.version });
    const target = next && $("done-" + next.dataset.taskId);
    (target || $("new-title")).focus();
  }

  $("add").addEventListener("submit", (event) => {
    event.preventDefault();
    const title = $("new-title").value.trim();
    if (!title) return;
    $("new-title").value = "";
    const key = crypto.randomUUID();
    queue({ op: "create", taskId: "local-" + key, key, body: { title } });
  });

  // --- A change that met a newer version on the server: show both, the person keeps one.

  function describe(list, task, names) {
    list.replaceChildren();
    for (const name of names) {
      const term = document.createElement("dt");
      term.textContent = name;
      const value = document.createElement("dd");
      const raw = task ? task[name] : undefined;
      value.textContent =
        task === null
          ? "(deleted)"
          : (name === "dueDate" || name === "reminderAt") && raw
            ? when(raw)
            : typeof raw === "boolean"
              ? raw ? "yes" : "no"
              : Array.isArray(raw)
                ? raw.join(", ") || "(none)"
                : raw ?? "(none)";
      list.append(term, value);
    }
  }

  function showConflict() {
    const { entry, theirs } = conflict;
    const names = entry.op === "update" ? Object.keys(entry.changes) : ["title", "status"];
    if (!names.includes("title")) names.unshift("title");
    const mine = entry.op === "update" ? { ...theirs, ...entry.changes } : null;
    describe($("mine"), mine, names);
    describe($("theirs"), theirs, names);
    $("conflict-title").textContent = `"${theirs.title}" was changed elsewhere`;
    $("conflict").hidden = false;
    say(`"${theirs.title}" was changed elsewhere: choose which version to keep.`);
    $("conflict-title").focus();
  }

  async function resolve(keepMine) {
    const { entry, theirs } = conflict;
    conflict = null;
    $("conflict").hidden = true;
    if (keepMine) {
      // Sent again on top of the server's version, which the person has now seen.
      entry.base = theirs.version;
      await inStores(["outbox"], "readwrite", (store) => store.put(entry));
    } else {
      await settle(entry, theirs);
    }
    say(keepMine ? "Keeping your version." : "Keeping the server's version.", true);
    render();
    tick();
    $("new-title").focus();
  }

  $("keep-mine").addEventListener("click", () => resolve(true));
  $("keep-theirs").addEventListener("click", () => resolve(false));

  // --- Views and filters

  function choose(name) {
    view = name;
    for (const other of document.querySelectorAll("#views button")) {
      other.setAttribute("aria-pressed", String(other.dataset.view === name));
    }
    $("view-title").textContent = document.querySelector(`[data-view=${name}]`).textContent;
    render();
  }

  for (const element of document.querySelectorAll("#views button")) {
    element.addEventListener("click", () => choose(element.dataset.view));
  }
  $("filters").addEventListener("input", render);
  $("filters").addEventListener("submit", (event) => event.preventDefault());

  // --- A link to one task, /app#task=ID (reminder emails carry it): once the tasks are
  // loaded, the task is shown whatever the view, scrolled to, and its editor opened. A task
  // this device has not heard of yet is asked for (GET /tasks/{taskId}).

  function linked() {
    const match = /^#task=([^&]+)/.exec(location.hash);
    if (!match) return null;
    try {
      return decodeURIComponent(match[1]);
    } catch {
      return null;
    }
  }

  async function openLinked() {
    const taskId = linked();
    if (!taskId) return;
    // Until it is opened the link stays, so that signing in (which reloads) still opens it.
    if (!current().has(taskId) && !(await fetchTask(taskId))) return;
    const task = current().get(taskId);
    if (!task) {
      say("The linked task was deleted on this device.");
      return;
    }
    if (!admits(task, filters())) {
      $("filters").reset();
      choose("all");
    }
    edit(task);
    const row = document.querySelector(`[data-task-id="${CSS.escape(taskId)}"]`);
    row.scrollIntoView({ block: "center" });
    // Opened once: a reload leaves the person where they are.
    history.replaceState(null, "", location.pathname + location.search);
  }

  // The task as the server holds it, kept in the local copy as the feed would keep it.
  async function fetchTask(taskId) {
    let answer;
    try {
      answer = await call("GET", "/tasks/" + encodeURIComponent(taskId));
    } catch (error) {
      if (error instanceof TypeError) {
        say("The linked task is not on this device yet, and the API cannot be reached.");
      } else {
        online(false, error);
      }
      return false;
    }
    const { status, data } = answer;
    if (status !== 200) {
      say(
        status === 404
          ? "The linked task was not found: it was deleted, or it belongs to another account" +
              (token ? "." : ": sign in as its owner.")
          : `The linked task could not be read: ${data && data.error}`,
      );
      return false;
    }
    if (!(copy.get(taskId)?.version >= data.task.version)) {
      copy.set(taskId, data.task);
      await inStores(["tasks"], "readwrite", (tasks) => tasks.put(data.task));
    }
    return true;
  }

  // --- Start: show the copy at once, then reach the server.

  async function load() {
    db = await openDatabase();
    const [tasks, entries, token, ids] = await Promise.all([
      inStores(["tasks"], "readonly", (store) => store.getAll()),
      inStores(["outbox"], "readonly", (store) => store.getAll()),
      inStores(["meta"], "readonly", (store) => store.get("syncToken")),
      inStores(["meta"], "readonly", (store) => store.get("realIds")),
    ]);
    for (const task of tasks) copy.set(task.taskId, task);
    outbox = entries;
    syncToken = token || null;
    // Only ids that a waiting change still names are worth keeping.
    realIds = new Map((ids || []).filter(([local]) => outbox.some((e) => e.taskId === local)));
  }

  async function start() {
    await loaded;
    choose(view);
    // Listening before the first tick: what happens while it runs must not wait a poll.
    setInterval(() => document.visibilityState === "visible" && tick(), POLL_MS);
    document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && tick());
    addEventListener("online", tick);
    addEventListener("hashchange", openLinked);
    await tick();
    await openLinked();
  }

  // Signing in or out reloads the page: the person is told, and is back where they were.
  showAccount();
  const moved = stored(sessionStorage, "taskapp account");
  if (moved) {
    sessionStorage.removeItem("taskapp account");
    say(moved === "in" ? $("who").textContent : "Signed out.", true);
    $("account-summary").focus();
  }

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("sw.js").catch(() => {});
  }
  const loaded = load();
  start().catch((error) => say("This browser cannot keep tasks: " + error.message));
})();
