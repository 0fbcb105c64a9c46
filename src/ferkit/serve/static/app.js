// ferkit web page: photo upload -> POST /v1/predict; webcam -> WebSocket /v1/stream.
// Plain JavaScript, no build step, no external resources.
"use strict";

const $ = (id) => document.getElementById(id);
const COLORS = { angry: "#e62828", disgust: "#289628", fear: "#a03ca0", happy: "#ffc800",
  sad: "#2878c8", surprise: "#00c8ff", neutral: "#c8c8c8", contempt: "#a05050" };
const color = (label) => COLORS[label] || "#98a2b3";
const pct = (v) => `${Math.round(v * 100)}%`;

function minConfidence() { return Number($("min-confidence").value); }
function apiKey() { return $("api-key").value.trim(); }
function authHeaders() { return apiKey() ? { "X-API-Key": apiKey() } : {}; }

function setStatus(el, text, isError = false) {
  el.textContent = text;
  el.classList.toggle("error", isError);
}

function topLabel(face) {
  return Object.entries(face.probs).sort((a, b) => b[1] - a[1])[0][0];
}

// Boxes are positioned in percent of the analysed image, so they follow any display size.
function drawBoxes(overlay, result) {
  overlay.replaceChildren();
  result.faces.forEach((face, i) => {
    const b = face.bbox;
    const box = document.createElement("div");
    const uncertain = face.label === "uncertain";
    box.className = "face-box" + (uncertain ? " uncertain" : "");
    box.dataset.label = face.label;
    box.style.setProperty("--c", color(face.label));
    box.style.left = `${(100 * b.x) / result.width}%`;
    box.style.top = `${(100 * b.y) / result.height}%`;
    box.style.width = `${(100 * b.w) / result.width}%`;
    box.style.height = `${(100 * b.h) / result.height}%`;
    const tag = document.createElement("span");
    tag.className = "face-label";
    const track = face.track_id == null ? `${i + 1}` : `#${face.track_id}`;
    tag.textContent = `${track} ${face.label} ${pct(face.confidence)}`;
    box.append(tag);
    overlay.append(box);
  });
}

function faceCard(face, i) {
  const uncertain = face.label === "uncertain";
  const card = document.createElement("div");
  card.className = "face-card" + (uncertain ? " uncertain" : "");
  card.style.setProperty("--c", color(face.label));
  const title = document.createElement("h3");
  const track = face.track_id == null ? `Face ${i + 1}` : `Track #${face.track_id}`;
  title.textContent = `${track}: ${face.label} (${pct(face.confidence)})`;
  card.append(title);
  if (uncertain) {
    const note = document.createElement("p");
    note.className = "note";
    note.textContent = `uncertain: top guess ${topLabel(face)} at ${pct(face.confidence)} is below `
      + `the ${pct(minConfidence())} threshold`;
    card.append(note);
  }
  for (const [label, p] of Object.entries(face.probs)) {
    const row = document.createElement("div");
    row.className = "bar-row";
    row.style.setProperty("--c", color(label));
    row.innerHTML = '<span class="name"></span><div class="bar"><span></span></div><span class="value"></span>';
    row.querySelector(".name").textContent = label;
    row.querySelector(".bar > span").style.width = pct(p);
    row.querySelector(".value").textContent = pct(p);
    card.append(row);
  }
  return card;
}

function render(result, overlay, list) {
  drawBoxes(overlay, result);
  list.replaceChildren(...result.faces.map(faceCard));
}

// ---- photo ------------------------------------------------------------------------------
async function predictFile(file) {
  const status = $("status");
  if (!file) return;
  setStatus(status, `analysing ${file.name}…`);
  const photo = $("photo");
  if (photo.src) URL.revokeObjectURL(photo.src);
  photo.src = URL.createObjectURL(file);
  $("stage").hidden = false;
  $("overlay").replaceChildren();
  $("faces").replaceChildren();
  const form = new FormData();
  form.append("file", file);
  form.append("min_confidence", String(minConfidence()));
  const t0 = performance.now();
  try {
    const response = await fetch("/v1/predict", { method: "POST", body: form, headers: authHeaders() });
    const doc = await response.json();
    if (!response.ok) {
      setStatus(status, `${response.status} ${doc.error.code}: ${doc.error.message}`, true);
      return;
    }
    const result = doc.images[0];
    render(result, $("overlay"), $("faces"));
    const n = result.faces.length;
    setStatus(status, `${n} face${n === 1 ? "" : "s"} in ${file.name} `
      + `(${result.width}×${result.height}, ${Math.round(performance.now() - t0)} ms)`);
  } catch (err) {
    setStatus(status, `request failed: ${err}`, true);
  }
}

function setupPhoto() {
  const zone = $("drop-zone");
  $("file-input").addEventListener("change", (e) => predictFile(e.target.files[0]));
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    predictFile(e.dataTransfer.files[0]);
  });
}

// ---- webcam -----------------------------------------------------------------------------
const cam = { ws: null, stream: null, running: false, frames: 0, times: [], canvas: null };

function streamUrl() {
  const url = new URL("/v1/stream", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("min_confidence", String(minConfidence()));
  if (apiKey()) url.searchParams.set("api_key", apiKey());
  return url;
}

function sendFrame() {
  if (!cam.running || !cam.ws || cam.ws.readyState !== WebSocket.OPEN) return;
  const video = $("video");
  const w = video.videoWidth, h = video.videoHeight;
  if (!w || !h) { setTimeout(sendFrame, 50); return; }
  const scale = Math.min(1, 640 / Math.max(w, h));
  const canvas = cam.canvas || (cam.canvas = document.createElement("canvas"));
  canvas.width = Math.round(w * scale);
  canvas.height = Math.round(h * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  canvas.toBlob((blob) => {
    if (blob && cam.ws && cam.ws.readyState === WebSocket.OPEN) {
      blob.arrayBuffer().then((buf) => cam.ws.send(buf));
    }
  }, "image/jpeg", 0.8);
}

function onResult(event) {
  const msg = JSON.parse(event.data);
  if (msg.error) {
    setStatus($("cam-status"), `${msg.error.code}: ${msg.error.message}`, true);
  } else {
    render(msg, $("cam-overlay"), $("cam-faces"));
    const now = performance.now();
    cam.frames += 1;
    cam.times.push(now);
    while (cam.times.length && now - cam.times[0] > 1000) cam.times.shift();
    $("fps").textContent = cam.times.length.toFixed(1);
    $("frame-count").textContent = String(cam.frames);
    setStatus($("cam-status"), `live: ${msg.faces.length} face(s), t=${msg.timestamp}s`);
  }
  sendFrame();  // one frame in flight at a time: the server sets the pace
}

async function startCamera() {
  const status = $("cam-status");
  try {
    cam.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (err) {
    setStatus(status, `cannot open the webcam: ${err.message || err}`, true);
    return;
  }
  const video = $("video");
  video.srcObject = cam.stream;
  await video.play();
  cam.running = true;
  cam.frames = 0;
  cam.times = [];
  $("cam-start").disabled = true;
  $("cam-stop").disabled = false;
  setStatus(status, "connecting…");
  cam.ws = new WebSocket(streamUrl());
  cam.ws.binaryType = "arraybuffer";
  cam.ws.onopen = () => { setStatus(status, "streaming…"); sendFrame(); };
  cam.ws.onmessage = onResult;
  cam.ws.onclose = (e) => {
    if (cam.running) {
      setStatus(status, `stream closed (code ${e.code}${e.code === 1006 ? ": wrong API key or server gone" : ""})`, true);
      stopCamera(false);
    }
  };
}

function stopCamera(closeSocket = true) {
  cam.running = false;
  if (closeSocket && cam.ws) cam.ws.close();
  cam.ws = null;
  if (cam.stream) cam.stream.getTracks().forEach((t) => t.stop());
  cam.stream = null;
  $("cam-start").disabled = false;
  $("cam-stop").disabled = true;
  $("fps").textContent = "0.0";
}

function setupCamera() {
  $("cam-start").addEventListener("click", startCamera);
  $("cam-stop").addEventListener("click", () => {
    stopCamera();
    setStatus($("cam-status"), "stopped");
  });
}

function setupControls() {
  const slider = $("min-confidence");
  const show = () => { $("min-confidence-value").textContent = Number(slider.value).toFixed(2); };
  slider.addEventListener("input", show);
  show();
  const key = $("api-key");
  key.value = sessionStorage.getItem("ferkit-api-key") || "";
  key.addEventListener("change", () => sessionStorage.setItem("ferkit-api-key", key.value.trim()));
}

setupControls();
setupPhoto();
setupCamera();
