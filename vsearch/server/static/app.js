// vsearch page: search, watch and export moments through the JSON API at /api/v1.
// Plain JavaScript, no build step. The search lives in the URL (?q=...&top=...; ?result=ID
// reopens a stored search), the view in the hash (#library, #history).
"use strict";

const $ = (selector) => document.querySelector(selector);
const state = {
  result: null,        // the search result shown (the API's search JSON)
  videoIds: new Map(), // video path -> catalogue id
  selected: new Set(), // ranks of the cards chosen for export
  current: null,       // rank of the moment in the player
  pad: 0,              // seconds of padding around the moment in the player
  offset: 0,           // source time at the player's time 0 (transcoded clips start later)
  stopAt: null,        // player time at which the moment ends
};
const PAD_STEP_S = 1;
const PAD_MAX_S = 5; // the server keeps 5 s around transcoded moments

// ---------------------------------------------------------------------------------------------
// API

async function api(path, options = {}) {
  const init = { ...options, headers: { ...(options.headers || {}) } };
  if (options.body !== undefined) {
    init.method = "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  const response = await fetch(path, init);
  if (response.status === 401 && path !== "/api/v1/session") {
    await askToken();
    return api(path, options);
  }
  const payload = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(payload.error || `HTTP ${response.status}`);
  return payload;
}

let tokenPrompt = null;
function askToken() {
  if (tokenPrompt) return tokenPrompt;
  tokenPrompt = new Promise((resolve) => {
    const dialog = $("#token-dialog");
    $("#token-form").onsubmit = async (event) => {
      event.preventDefault();
      try {
        await api("/api/v1/session", { body: { token: $("#token").value } });
        dialog.close();
        tokenPrompt = null;
        resolve();
      } catch (error) {
        $("#token-error").textContent = error.message;
      }
    };
    dialog.showModal();
  });
  return tokenPrompt;
}

// ---------------------------------------------------------------------------------------------
// Formatting

function clock(seconds) {
  const s = Math.max(0, seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = (s % 60).toFixed(1).padStart(4, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}
const baseName = (path) => path.split(/[\\/]/).pop();
function element(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

// ---------------------------------------------------------------------------------------------
// Readiness

async function watchReadiness() {
  const pill = $("#ready");
  try {
    const ready = await api("/api/v1/ready");
    pill.dataset.state = ready.state;
    pill.textContent = { loading: "loading models…", ready: "models ready",
                         failed: `models failed: ${ready.error}` }[ready.state];
    pill.title = ready.notes.join("\n");
    if (ready.state === "loading") setTimeout(watchReadiness, 1000);
  } catch (error) {
    pill.dataset.state = "failed";
    pill.textContent = error.message;
    setTimeout(watchReadiness, 3000);
  }
}

// ---------------------------------------------------------------------------------------------
// Search

function readForm() {
  const params = new URLSearchParams();
  params.set("q", $("#q").value.trim());
  for (const name of ["top", "per_video", "in", "grounding"]) {
    const value = $(`#${name}`).value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

function fillForm(params) {
  $("#q").value = params.get("q") || "";
  $("#top").value = params.get("top") || "10";
  $("#per_video").value = params.get("per_video") || "3";
  $("#in").value = params.get("in") || "";
  $("#grounding").value = params.get("grounding") || "r2";
}

async function runSearch(params) {
  const body = { query: params.get("q"), top: Number(params.get("top") || 10),
                 per_video: Number(params.get("per_video") || 3),
                 grounding: params.get("grounding") || "r2" };
  if (params.get("in")) body.in = params.get("in");
  $("#search-info").textContent = "searching…";
  const started = performance.now();
  try {
    const result = await api("/api/v1/search", { body });
    const ms = Math.round(performance.now() - started);
    await showResult(result, `${result.results.length} moments in ${ms} ms`);
  } catch (error) {
    $("#search-info").textContent = "";
    $("#search-info").append(element("span", { className: "error", textContent: error.message }));
  }
}

async function openStored(resultId) {
  try {
    const result = await api(`/api/v1/results/${encodeURIComponent(resultId)}`);
    fillForm(new URLSearchParams({ q: result.query }));
    await showResult(result, `stored search from ${result.created_at.slice(0, 19).replace("T", " ")}`);
  } catch (error) {
    $("#search-info").textContent = error.message;
  }
}

async function videoIds(paths) {
  if (paths.some((path) => !state.videoIds.has(path))) {
    const videos = await api("/api/v1/videos");
    state.videoIds = new Map(videos.map((video) => [video.path, video.id]));
  }
  return state.videoIds;
}

async function showResult(result, summary) {
  state.result = result;
  state.selected.clear();
  state.current = null;
  updateSelection();
  const ids = await videoIds(result.results.map((moment) => moment.video));
  const notes = result.notes.length ? ` · ${result.notes.join(" · ")}` : "";
  $("#search-info").textContent = `${summary} · grounding ${result.grounding}${notes}`;
  const values = result.results.flatMap((moment) => moment.saliency);
  const low = values.length ? Math.min(...values) : 0;
  const high = Math.max(...values, low + 1e-6);
  const cards = result.results.map((moment, rank) => card(moment, rank, ids.get(moment.video), low, high));
  $("#cards").replaceChildren(...cards);
  $("#cards").dataset.resultId = result.id;
  if (!cards.length) $("#cards").append(element("p", { className: "info", textContent: "No moments found." }));
}

function card(moment, rank, videoId, low, high) {
  const middle = (moment.start + moment.end) / 2;
  const img = element("img", { alt: `${baseName(moment.video)} at ${clock(middle)}`, loading: "lazy",
                               src: `/api/v1/videos/${videoId}/thumbnail?t=${middle.toFixed(3)}&width=320` });
  const strip = element("div", { className: "saliency", title: "saliency per clip" },
    ...moment.saliency.map((value) => {
      const bar = element("span");
      bar.style.height = `${Math.round(15 + 85 * (value - low) / (high - low))}%`;
      return bar;
    }));
  const pick = element("input", { type: "checkbox", ariaLabel: `Select moment ${rank + 1}` });
  pick.addEventListener("click", (event) => event.stopPropagation());
  pick.addEventListener("change", () => toggleSelected(rank, pick.checked));
  const node = element("article", { className: "card", tabIndex: 0 },
    element("div", { className: "thumb" }, img,
            element("span", { className: "rank", textContent: `#${rank + 1}` }),
            element("span", { className: "range", textContent: `${clock(moment.start)}–${clock(moment.end)}` })),
    element("div", { className: "meta" },
            element("span", { className: "name", textContent: baseName(moment.video), title: moment.video }),
            element("span", { className: "score", textContent: moment.score.toFixed(3) })),
    strip,
    element("label", { className: "pick" }, pick, "select for export"));
  node.setAttribute("role", "listitem");
  node.dataset.rank = rank;
  node.dataset.videoId = videoId;
  node.addEventListener("click", () => play(rank));
  return node;
}

// ---------------------------------------------------------------------------------------------
// Player: plays exactly the moment (plus padding), then stops

async function play(rank) {
  const moment = state.result.results[rank];
  const videoId = state.videoIds.get(moment.video);
  state.current = rank;
  for (const node of document.querySelectorAll(".card")) {
    node.classList.toggle("current", Number(node.dataset.rank) === rank);
  }
  $("#player-panel").hidden = false;
  $("#player-title").textContent = baseName(moment.video);
  $("#player-title").title = moment.video;
  const player = $("#player");
  try {
    const found = await api(`/api/v1/videos/${videoId}/playback?start=${moment.start}&end=${moment.end}`);
    state.offset = found.offset_s;
    const from = Math.max(0, moment.start - state.pad);
    const to = moment.end + state.pad;
    $("#player-range").textContent = `${clock(from)}–${clock(to)}`;
    state.stopAt = to - state.offset;
    Object.assign(player.dataset, { start: from, end: to, offset: state.offset, rank });
    const url = new URL(found.url, location.href).href;
    if (player.src !== url) {
      player.src = url;
      await new Promise((resolve, reject) => {
        player.addEventListener("loadedmetadata", resolve, { once: true });
        player.addEventListener("error", () => reject(new Error("the video cannot be played")), { once: true });
      });
    }
    player.currentTime = Math.max(0, from - state.offset);
    await player.play();
  } catch (error) {
    $("#player-range").textContent = error.message;
  }
}

function stopAtEnd() {
  // Checked every animation frame (not only on timeupdate, 4 times a second), so playback
  // stops within a frame of the moment's end.
  const player = $("#player");
  let before = player.currentTime;
  const tick = () => {
    const now = player.currentTime;
    if (state.stopAt !== null && !player.paused && before < state.stopAt && now >= state.stopAt) {
      player.pause();
      player.currentTime = Math.min(state.stopAt, player.duration || state.stopAt);
    }
    before = player.currentTime;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  player.addEventListener("play", () => {
    // Play pressed at the end of the moment: start it again.
    if (state.stopAt !== null && player.currentTime >= state.stopAt - 0.05) {
      player.currentTime = Math.max(0, Number(player.dataset.start) - state.offset);
    }
    before = player.currentTime;
  });
}

function changePad(delta) {
  state.pad = Math.min(PAD_MAX_S, Math.max(0, state.pad + delta));
  $("#pad-value").textContent = `${state.pad} s`;
  if (state.current !== null) play(state.current);
}

// ---------------------------------------------------------------------------------------------
// Selection and export

function toggleSelected(rank, on) {
  if (on) state.selected.add(rank); else state.selected.delete(rank);
  document.querySelector(`.card[data-rank="${rank}"]`)?.classList.toggle("selected", on);
  updateSelection();
}

function updateSelection() {
  const count = state.selected.size;
  $("#selection-bar").hidden = count === 0;
  $("#selection-count").textContent = `${count} selected`;
  if (count === 0) {
    $("#export-progress").hidden = true;
    $("#export-download").hidden = true;
    $("#export-error").textContent = "";
  }
}

async function exportSelected() {
  const ranks = [...state.selected].sort((a, b) => a - b);
  const button = $("#export");
  const progress = $("#export-progress");
  const link = $("#export-download");
  button.disabled = true;
  link.hidden = true;
  $("#export-error").textContent = "";
  progress.hidden = false;
  progress.value = 0;
  try {
    let job = await api("/api/v1/exports", { body: { result_id: state.result.id, moments: ranks,
                                                     format: $("#export-format").value, padding: state.pad } });
    while (job.state === "queued" || job.state === "running") {
      progress.value = job.progress;
      await new Promise((resolve) => setTimeout(resolve, 400));
      job = await api(`/api/v1/exports/${job.id}`);
    }
    if (job.state !== "done") throw new Error(job.error || "the export failed");
    progress.value = 1;
    link.href = job.download;
    link.download = job.file_name;
    link.textContent = `Download ${job.file_name}`;
    link.hidden = false;
  } catch (error) {
    $("#export-error").textContent = error.message;
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------
// Library and history

let libraryTimer = null;
async function showLibrary() {
  clearTimeout(libraryTimer);
  if (currentView() !== "library") return;
  try {
    const [status, videos] = await Promise.all([api("/api/v1/status"), api("/api/v1/videos")]);
    $("#library-summary").textContent =
      `${status.videos} videos indexed (${(status.hours * 60).toFixed(1)} min, ${status.clips} clips), ` +
      `${status.failed} failed, ${status.removed} removed · model ${status.model || "none"} · ${status.library}`;
    const progress = status.index_progress;
    $("#index-progress").hidden = !progress;
    if (progress) {
      const total = Math.max(progress.files_total, 1);
      $("#index-progress-bar").value = progress.files_done / total;
      const current = progress.current ? `: ${baseName(progress.current)}` : "";
      $("#index-progress-label").textContent =
        `indexing ${progress.files_done} of ${progress.files_total} files${current}`;
    }
    $("#video-rows").replaceChildren(...videos.map((video) => element("tr", {},
      element("td", { title: video.path, textContent: baseName(video.path) }),
      element("td", { className: "num", textContent: video.duration_s ? clock(video.duration_s) : "–" }),
      element("td", {}, element("span", { className: `status ${video.status}`, textContent: video.status })),
      element("td", { className: "num", textContent: video.clips }),
      element("td", { className: "reason", textContent: video.error || "" }))));
  } catch (error) {
    $("#library-summary").textContent = error.message;
  }
  libraryTimer = setTimeout(showLibrary, statusInterval());
}
const statusInterval = () => ($("#index-progress").hidden ? 3000 : 1000);

async function showHistory() {
  try {
    const searches = await api("/api/v1/history?limit=200");
    $("#history-list").replaceChildren(...searches.map((search) => element("li", {},
      element("a", { href: `/?result=${search.id}` },
              element("span", { textContent: search.query }),
              element("span", { className: "when",
                                textContent: `${search.results} moments · ${search.grounding} · ` +
                                             search.created_at.slice(0, 16).replace("T", " ") })))));
    if (!searches.length) $("#history-list").append(element("li", { className: "info", textContent: "No searches yet." }));
  } catch (error) {
    $("#history-list").replaceChildren(element("li", { className: "error", textContent: error.message }));
  }
}

// ---------------------------------------------------------------------------------------------
// Views, URL and keyboard

const currentView = () => (location.hash === "#library" ? "library" : location.hash === "#history" ? "history" : "search");

function route() {
  const view = currentView();
  for (const section of document.querySelectorAll("[data-view]")) section.hidden = section.dataset.view !== view;
  for (const link of document.querySelectorAll(".tabs [data-view-link]")) {
    if (link.dataset.viewLink === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (view === "library") showLibrary();
  if (view === "history") showHistory();
  if (view === "search") {
    const params = new URLSearchParams(location.search);
    if (params.get("result")) openStored(params.get("result"));
    else if (params.get("q")) { fillForm(params); runSearch(params); }
  }
}

function moveFocus(event) {
  const cards = [...document.querySelectorAll(".card")];
  const index = cards.indexOf(document.activeElement);
  if (index < 0) return;
  if (event.key === " ") {
    event.preventDefault();
    play(index);
    return;
  }
  const columns = cards.filter((node) => node.offsetTop === cards[0].offsetTop).length || 1;
  const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns, ArrowDown: columns }[event.key];
  if (step === undefined) return;
  event.preventDefault();
  const next = cards[Math.min(cards.length - 1, Math.max(0, index + step))];
  next.focus();
}

function main() {
  $("#search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const params = readForm();
    if (!params.get("q")) return;
    history.pushState(null, "", `/?${params}`);
    runSearch(params);
  });
  $("#pad-less").addEventListener("click", () => changePad(-PAD_STEP_S));
  $("#pad-more").addEventListener("click", () => changePad(PAD_STEP_S));
  $("#replay").addEventListener("click", () => state.current !== null && play(state.current));
  $("#export").addEventListener("click", exportSelected);
  $("#clear-selection").addEventListener("click", () => {
    for (const box of document.querySelectorAll(".card input[type=checkbox]")) box.checked = false;
    for (const node of document.querySelectorAll(".card.selected")) node.classList.remove("selected");
    state.selected.clear();
    updateSelection();
  });
  $("#cards").addEventListener("keydown", moveFocus);
  document.addEventListener("keydown", (event) => {
    if (event.key === "/" && document.activeElement !== $("#q") && currentView() === "search") {
      event.preventDefault();
      $("#q").focus();
    }
  });
  window.addEventListener("popstate", route);
  window.addEventListener("hashchange", route);
  stopAtEnd();
  watchReadiness();
  route();
}

main();
