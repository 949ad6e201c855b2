// Upload with progress, then poll the job until it is read; the result page itself is rendered by the server.
"use strict";
const form = document.getElementById("upload");
const pending = document.getElementById("pending");

function poll(id, say) {
  fetch("/v1/jobs/" + id).then((r) => r.json()).then((job) => {
    if (job.state === "done" || job.state === "failed") { location.href = "/jobs/" + id; return; }
    if (say) say("Reading the clip (" + job.state + ")…");
    setTimeout(() => poll(id, say), 500);
  });
}

function upload(file) {
  const bar = document.getElementById("bar"), status = document.getElementById("status");
  const say = (text) => { status.textContent = text; };
  document.getElementById("progress").hidden = false;
  if (file.size > Number(form.dataset.maxBytes)) { say("This file is over the upload limit."); return; }
  const data = new FormData();
  data.append("file", file);
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/v1/verify?wait=0");
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) { bar.value = 100 * e.loaded / e.total; say("Uploading…"); } };
  xhr.onload = () => {
    const body = JSON.parse(xhr.responseText || "{}");
    if (xhr.status === 202) { bar.removeAttribute("value"); poll(body.id, say); }
    else say("Refused (" + xhr.status + "): " + (body.detail || xhr.statusText));
  };
  xhr.onerror = () => say("The upload failed (connection closed).");
  xhr.send(data);
}

if (form) {
  const drop = document.getElementById("drop"), input = document.getElementById("file");
  input.addEventListener("change", () => { if (input.files.length) upload(input.files[0]); });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over");
    if (e.dataTransfer.files.length) upload(e.dataTransfer.files[0]); });
}
if (pending && !pending.classList.contains("v-failed")) poll(pending.dataset.job, null);
