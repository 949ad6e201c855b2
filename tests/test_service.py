"""`provenance serve` over real HTTP: uvicorn on loopback, real uploads, the real jobs store and ledger."""

from __future__ import annotations

import contextlib
import html
import os
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest
from cli_helpers import run
from PIL import Image
from test_marks import stamp_dwtdct

from conftest import sample_data, scene_frames, trust_data
from provenance import attacks, media
from provenance.ledger import Ledger
from provenance.service.process import ServiceProcess
from provenance.verify import (
    SIGNER_TRUST_WORDS,
    STILL_IMAGE_REASON,
    Verifier,
    explain_other_mark,
    explain_signals,
    fingerprint_words,
)

REAL_CLIP = "clips/real/liveportrait-driving-videos/driving_d1.mp4"
FINGERPRINTED_CLIP = "clips/real/ucf101/v_PlayingGuitar_g07_c01.mp4"
FINGERPRINT_ALG = "io.provenance.dct-second.v1"
TOKEN = "s3cret-token-for-the-resolution-api"
MAX_UPLOAD_BYTES = 3_000_000
IDLE_S = 1.5
POLL_S = 0.2


def make_clips(home: Path, folder: Path) -> dict[str, Path]:
    """A stamped clip (made from a still), the same stripped and re-encoded, its unmarked source and a longer
    unmarked clip."""
    camera = folder / "camera.mp4"
    media.write_video(camera, scene_frames(480, 270, 48, seed=5), fps=24)
    still = folder / "still.png"
    Image.fromarray(scene_frames(160, 120, 1, seed=4)[0]).save(still)
    stamped = folder / "stamped.mp4"
    assert run("sign", camera, "-o", stamped, "--model", "video-model-7", "--ingredient", still,
               home=home).exit_code == 0
    stripped = folder / "stripped.mp4"
    media.remux(stamped, stripped)
    reencoded = folder / "reencoded.mp4"
    attacks.Clip.read(stripped).write(reencoded, crf=26)
    long = folder / "long.mp4"
    media.write_video(long, scene_frames(640, 360, 144, seed=6), fps=24)
    return {"stamped": stamped, "reencoded": reencoded, "long": long, "camera": camera}


@pytest.fixture(scope="module")
def clips(home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_clips(home, tmp_path_factory.mktemp("service-clips"))


@pytest.fixture(scope="module")
def token_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("token") / "api-token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def service(home: Path, token_file: Path) -> ServiceProcess:
    args = ["--home", home, "--trust-anchors", home / "ca.pem", "--token-file", token_file,
            "--max-upload", MAX_UPLOAD_BYTES, "--upload-idle-timeout", IDLE_S]
    with ServiceProcess(*args) as process:
        yield process


def post_clip(url: str, path: Path, wait: float | None = 60, mime: str = "video/mp4", **kwargs) -> httpx.Response:
    params = {} if wait is None else {"wait": wait}
    with open(path, "rb") as stream:
        return httpx.post(f"{url}/v1/verify", params=params, files={"file": (path.name, stream, mime)},
                          timeout=120, **kwargs)


def page_text(url: str, response: httpx.Response) -> str:
    """The server-rendered result page of a verify response's job, as HTML with its entities decoded."""
    job_id = response.headers["content-location"].rsplit("/", 1)[-1]
    page = httpx.get(f"{url}/jobs/{job_id}", timeout=30)
    assert page.status_code == 200
    return html.unescape(page.text)


def poll(url: str, job_id: str, timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = httpx.get(f"{url}/v1/jobs/{job_id}", timeout=10).json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(POLL_S)
    raise AssertionError(f"job {job_id} did not finish in {timeout_s} s")


def uploads_left(home: Path) -> list[str]:
    return sorted(path.name for path in (home / "service-uploads").iterdir())


def test_stamped_clip_is_ai_generated_with_its_manifest(service, clips) -> None:
    response = post_clip(service.url, clips["stamped"])
    assert response.status_code == 200
    report = response.json()
    assert report["verdict"] == "ai-generated" and report["path"] == "stamped.mp4"
    assert report["c2pa"]["present"] and report["c2pa"]["validation_state"] == "Trusted"
    assert report["c2pa"]["generator"] == "video-model-7"
    assert report["watermark"]["detected"]
    assert set(report) >= {"path", "verdict", "c2pa", "watermark", "ledger", "detector", "error"}


def test_reencoded_clip_is_traced_through_watermark_and_ledger(service, clips, home: Path) -> None:
    report = post_clip(service.url, clips["reencoded"]).json()
    assert report["verdict"] == "ai-generated"
    assert not report["c2pa"]["present"]
    assert report["ledger"]["found"] and report["ledger"]["manifest"]["generator"] == "video-model-7"
    assert not report["ledger"]["hard_binding_matches"]
    with Ledger.open(home=home, create=False) as ledger:
        assert ledger.get(report["watermark"]["payload"]) is not None


def test_unmarked_real_clip_has_no_evidence(service) -> None:
    report = post_clip(service.url, sample_data(REAL_CLIP)).json()
    assert report["verdict"] == "no-evidence"
    assert not report["c2pa"]["present"] and not report["watermark"]["detected"] and not report["ledger"]["found"]


def test_raw_body_and_polling(service, clips) -> None:
    response = httpx.post(f"{service.url}/v1/verify", params={"wait": 0, "name": "raw.mp4"},
                          content=clips["camera"].read_bytes(), timeout=60)
    assert response.status_code == 202
    assert response.headers["location"] == f"/v1/jobs/{response.json()['id']}"
    job = poll(service.url, response.json()["id"])
    assert job["state"] == "done" and job["report"]["verdict"] == "no-evidence"
    assert job["report"]["path"] == "raw.mp4"
    thumbnail = httpx.get(f"{service.url}/v1/jobs/{job['id']}/thumbnail")
    assert thumbnail.headers["content-type"] == "image/jpeg" and thumbnail.content[:2] == b"\xff\xd8"


def test_health_and_version(service, home: Path) -> None:
    health = httpx.get(f"{service.url}/v1/health").json()
    assert health["status"] == "ok" and health["workers"] == 1
    version = httpx.get(f"{service.url}/v1/version").json()
    assert version["watermark"]["algorithm"] == "io.provenance.watermark.v1"
    [anchor] = version["trust_anchors"]
    assert len(anchor["sha256"]) == 64 and "Provenance" in anchor["subject"]
    assert httpx.get(f"{service.url}/openapi.json").json()["paths"].keys() >= {"/v1/verify", "/matches/byBinding"}


def resolve(url: str, path: str, token: str | None = TOKEN, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.request(kwargs.pop("method", "GET"), f"{url}{path}", headers=headers, timeout=120, **kwargs)


def test_resolution_by_binding_and_content_finds_the_manifest(service, clips, home: Path) -> None:
    report = post_clip(service.url, clips["stamped"]).json()
    payload = report["watermark"]["payload"]
    [binding] = report["c2pa"]["soft_binding"]["blocks"]
    algorithms = resolve(service.url, "/services/supportedAlgorithms").json()
    assert {"alg": "io.provenance.watermark.v1"} in algorithms["watermarks"]
    for value in (payload, binding["value"]):  # our hex payload, or the manifest's base64 soft-binding value
        found = resolve(service.url, "/matches/byBinding",
                        params={"alg": "io.provenance.watermark.v1", "value": value, "maxResults": 5}).json()
        assert found == {"matches": [{"manifestId": payload, "similarityScore": 100}]}
    unknown = resolve(service.url, "/matches/byBinding", params={"alg": "io.provenance.watermark.v1",
                                                                  "value": "00" * 8}).json()
    assert unknown == {"matches": []}
    by_content = resolve(service.url, "/matches/byContent", method="POST",
                         content=clips["reencoded"].read_bytes()).json()
    assert by_content["matches"][0]["manifestId"] == payload
    manifest = resolve(service.url, f"/manifests/{payload}")
    assert manifest.headers["content-type"] == "application/c2pa"
    with Ledger.open(home=home, create=False) as ledger:
        assert manifest.content == ledger.get(payload).manifest_store
    assert resolve(service.url, "/manifests/" + "0" * 16).status_code == 404


@pytest.fixture(scope="module")
def fingerprinted(home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A real clip signed without a watermark (so with its fingerprint), and a stripped, re-encoded copy of it."""
    folder = tmp_path_factory.mktemp("fingerprinted")
    signed = folder / "unmarked.mp4"
    assert run("sign", sample_data(FINGERPRINTED_CLIP), "-o", signed, "--model", "video-model-7", "--no-watermark",
               home=home).exit_code == 0
    stripped, copy = folder / "stripped.mp4", folder / "copy.mp4"
    media.remux(signed, stripped)
    attacks.Clip.read(stripped).write(copy, crf=28)
    return {"signed": signed, "copy": copy}


def test_resolution_by_fingerprint_without_a_watermark(service, fingerprinted: dict[str, Path]) -> None:
    signed, copy = fingerprinted["signed"], fingerprinted["copy"]
    report = post_clip(service.url, signed).json()
    blocks = report["c2pa"]["soft_binding"]["blocks"]
    assert report["c2pa"]["soft_binding"]["alg"] == FINGERPRINT_ALG
    assert {"alg": FINGERPRINT_ALG} in resolve(service.url, "/services/supportedAlgorithms").json()["fingerprints"]
    by_content = resolve(service.url, "/matches/byContent", method="POST", content=copy.read_bytes()).json()
    [found] = by_content["matches"]
    by_binding = resolve(service.url, "/matches/byBinding",
                         params={"alg": FINGERPRINT_ALG, "value": blocks[3]["value"]}).json()
    assert {"manifestId": found["manifestId"], "similarityScore": 100} in by_binding["matches"]
    bad = resolve(service.url, "/matches/byBinding", params={"alg": FINGERPRINT_ALG, "value": "xyz"})
    assert bad.status_code == 400


@pytest.mark.parametrize("token", [None, "wrong-token-of-the-same-kind-xyz", TOKEN[:-1]])
def test_resolution_without_the_token_is_refused_and_leaks_nothing(service, clips, token) -> None:
    payload = post_clip(service.url, clips["stamped"]).json()["watermark"]["payload"]
    for path, kwargs in [("/matches/byBinding", {"params": {"alg": "io.provenance.watermark.v1", "value": payload}}),
                         (f"/manifests/{payload}", {}), ("/services/supportedAlgorithms", {}),
                         ("/matches/byContent", {"method": "POST", "content": clips["reencoded"].read_bytes()})]:
        response = resolve(service.url, path, token=token, **kwargs)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
        assert payload not in response.text and "manifestId" not in response.text
    assert TOKEN not in service.log_text()


def test_garbage_upload_is_415_and_leaves_nothing(service, home: Path, tmp_path: Path) -> None:
    garbage, text = tmp_path / "notes.mp4", tmp_path / "notes.jpg"
    garbage.write_bytes(os.urandom(50_000))
    text.write_text("a JPEG in name only\n" * 20)
    for upload in (garbage, text):
        response = post_clip(service.url, upload, mime="image/jpeg")
        assert response.status_code == 415 and "nor a still image" in response.json()["detail"]
    assert uploads_left(home) == []


@pytest.fixture(scope="module")
def lists_service(home: Path, tmp_path_factory: pytest.TempPathFactory) -> ServiceProcess:
    """A service judging signers by the official C2PA trust list, the interim list and our own anchors."""
    lists = trust_lists(home)
    args = ["--home", home, "--trust-anchors", lists["trust_anchors"], "--trust-list", *lists["trust_lists"],
            "--interim-trust-list", lists["interim_trust_list"], "--interim-allowed", lists["interim_allowed"],
            *(arg for rubric in lists["rubrics"] for arg in ("--rubric", rubric)),
            *own_state(tmp_path_factory.mktemp("lists-service"))]
    with ServiceProcess(*args) as process:
        yield process


def trust_lists(home: Path) -> dict:
    """Verifier options for all three lists (the official one, the interim one and our own anchors) and the
    signals and integrity rubrics."""
    return {"trust_anchors": home / "ca.pem", "trust_lists": [trust_data("official/C2PA-TRUST-LIST.pem")],
            "interim_trust_list": trust_data("interim/anchors.pem"),
            "interim_allowed": trust_data("interim/allowed.pem"),
            "rubrics": [trust_data(f"rubrics/asset-rubric-{name}.yml") for name in ("signals-local", "integrity")]}


@pytest.mark.parametrize(("sample", "verdict", "trust", "issuer"), [
    ("truepic-20230212-camera.jpg", "tampered", "interim", "Truepic"),
    ("adobe-20220124-CA.jpg", "no-evidence", "untrusted", "C2PA Test Signing Cert"),
])
def test_a_signed_sample_image_is_verified_as_verify_does(lists_service, home: Path, sample: str, verdict: str,
                                                          trust: str, issuer: str) -> None:
    path = trust_data(f"samples/{sample}")
    response = post_clip(lists_service.url, path, mime="image/jpeg")
    assert response.status_code == 200
    report = response.json()
    assert (report["verdict"], report["container"], report["c2pa"]["trust"]) == (verdict, "jpeg", trust)
    assert report["c2pa"]["present"] and report["c2pa"]["issuer"] == issuer
    assert report["watermark"]["state"] == "not-checked" and report["watermark"]["reason"] == STILL_IMAGE_REASON
    assert report["watermark"]["others"] == [] and not report["ledger"]["found"]
    verifier = Verifier(home=home, **trust_lists(home))
    try:
        expected = verifier.verify(path).to_dict()
    finally:
        verifier.close()
    assert report == {**expected, "path": sample}  # the service adds nothing to verify's report
    text = page_text(lists_service.url, response)
    assert f'data-trust="{trust}"' in text and f"signed by {issuer}, {SIGNER_TRUST_WORDS[trust]}" in text
    assert "The image · jpeg" in text and STILL_IMAGE_REASON in text
    assert report["c2pa"]["signals"] and 'id="signals"' in text
    assert all(html.escape(line, quote=False) in text for line in explain_signals(report["c2pa"]["signals"]))


def test_the_interim_list_is_shown_apart_from_the_official_one(lists_service) -> None:
    response = post_clip(lists_service.url, trust_data("samples/truepic-20230212-camera.jpg"), mime="image/jpeg")
    text = page_text(lists_service.url, response)
    assert "signed by Truepic, on the frozen interim trust list of known certificates, not on the official C2PA " \
           "trust list" in text
    job_id = response.headers["content-location"].rsplit("/", 1)[-1]
    thumbnail = httpx.get(f"{lists_service.url}/v1/jobs/{job_id}/thumbnail")
    assert thumbnail.status_code == 200 and thumbnail.content[:2] == b"\xff\xd8"


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "AVIF", "JPEG"])
def test_still_images_of_each_format_are_sniffed_and_read(service, fmt: str, tmp_path: Path) -> None:
    path = tmp_path / f"still.{fmt.lower()}"
    Image.fromarray(scene_frames(96, 64, 1, seed=3)[0]).save(path, fmt)
    report = post_clip(service.url, path, mime=f"image/{fmt.lower()}").json()
    assert (report["verdict"], report["container"]) == ("no-evidence", fmt.lower())
    assert not report["c2pa"]["present"] and report["watermark"]["state"] == "not-checked"


def test_the_page_shows_other_issuers_marks(service, tmp_path: Path) -> None:
    marked = tmp_path / "stability.mp4"
    media.write_video(marked, [stamp_dwtdct(frame) for frame in scene_frames(384, 256, 12)], fps=12)
    response = post_clip(service.url, marked)
    [mark] = response.json()["watermark"]["others"]
    assert response.json()["verdict"] == "ai-generated" and mark["state"] == "very-likely"
    text = page_text(service.url, response)
    assert 'data-issuer="Stability AI" data-state="very-likely"' in text
    assert f'{explain_other_mark(mark)} <span class="muted">(state: very-likely)</span>' in text
    assert "Stability AI's public watermark (invisible-watermark.dwtDct) is present: 12 of 12 frames" in text
    assert "a mark already speaks for this clip" in text


def test_the_page_shows_a_fingerprint_match_and_its_distance(service, fingerprinted: dict[str, Path]) -> None:
    response = post_clip(service.url, fingerprinted["copy"])
    report = response.json()
    assert report["verdict"] == "near-copy-of-credentialed" and report["ledger"]["match"] == "fingerprint"
    near = report["ledger"]["fingerprint"]
    text = page_text(service.url, response)
    assert f"within {near['mean_distance_bits']:g} bits on average" in fingerprint_words(near)
    assert f'<p id="fingerprint-match">The ledger holds a credential whose fingerprint this clip matches: ' \
           f"{fingerprint_words(near)}.</p>" in text
    assert "recovered from the ledger through its fingerprint" in text
    assert '<dd id="recovered">no</dd>' in text and "its fingerprint (soft binding) does" in text


def test_too_large_upload_is_413_while_it_streams(service, home: Path) -> None:
    declared = httpx.post(f"{service.url}/v1/verify", content=b"\0" * (MAX_UPLOAD_BYTES + 1), timeout=60)
    assert declared.status_code == 413

    def chunks():  # no Content-Length: refused on the byte that crosses the limit
        head = media_head()
        yield head
        for _ in range(MAX_UPLOAD_BYTES // 65536 + 2):
            yield b"\0" * 65536

    streamed = httpx.post(f"{service.url}/v1/verify", content=chunks(), timeout=60)
    assert streamed.status_code == 413
    assert uploads_left(home) == []


def media_head() -> bytes:
    """The first bytes of an MP4 (an ftyp box), so that sniffing passes."""
    return b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2"


def raw_exchange(service: ServiceProcess, request: bytes, pause_s: float = 0.0, more: bytes = b"") -> bytes:
    """Send bytes over a socket (then, after a pause, more) and return what the service answers."""
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as connection:
        connection.sendall(request)
        if pause_s:
            time.sleep(pause_s)
            with contextlib.suppress(OSError):  # the service may have closed the connection already
                connection.sendall(more)
        answer = b""
        with contextlib.suppress(ConnectionResetError):  # a refusal may close before the rest was read
            while chunk := connection.recv(65536):
                answer += chunk
        return answer


@pytest.mark.parametrize("name, request_bytes", [
    ("malformed multipart", b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=zz\r\n"
                            b"Content-Length: 30\r\nConnection: close\r\n\r\n--zz\r\nno headers at all....."),
    ("no boundary", b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data\r\n"
                    b"Content-Length: 4\r\nConnection: close\r\n\r\nabcd"),
    ("enormous header", b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n"),
])
def test_bad_requests_get_a_4xx(service, home: Path, name: str, request_bytes: bytes) -> None:
    status = raw_exchange(service, request_bytes).split(b"\r\n", 1)[0]
    assert status.startswith(b"HTTP/1.1 4"), (name, status)
    assert uploads_left(home) == []


def test_path_in_a_file_name_is_refused(service, clips, home: Path) -> None:
    with open(clips["camera"], "rb") as stream:
        response = httpx.post(f"{service.url}/v1/verify", files={"file": ("../../etc/clip.mp4", stream)}, timeout=60)
    assert response.status_code == 400 and "plain name" in response.json()["detail"]
    assert uploads_left(home) == []


@pytest.mark.parametrize("job_id", ["..", "..%2F..%2Fledger.sqlite", "0" * 31 + "g", "%2e%2e"])
def test_odd_job_ids_are_404(service, job_id: str) -> None:
    assert httpx.get(f"{service.url}/v1/jobs/{job_id}").status_code == 404


def test_slow_drip_upload_is_abandoned(service, home: Path) -> None:
    head = media_head()
    request = (b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: video/mp4\r\nContent-Length: 100000\r\n\r\n"
               + head)
    started = time.monotonic()
    answer = raw_exchange(service, request, pause_s=IDLE_S * 3, more=b"\0" * 10)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    assert time.monotonic() - started < IDLE_S * 3 + 10
    assert uploads_left(home) == []


def test_bad_options_stop_the_start_with_one_line(home: Path, tmp_path: Path) -> None:
    loose = tmp_path / "token"
    loose.write_text(TOKEN)
    loose.chmod(0o644)
    for args, message in [(["--token-file", loose], "readable by others"),
                          (["--detector", tmp_path / "no-model"], "no such model folder")]:
        result = run("serve", *args, "--port", "9", *own_state(tmp_path), home=home)
        assert result.exit_code == 1 and message in result.stderr and TOKEN not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def own_state(folder: Path) -> list:
    """Options for a second service on the same home: a ledger (and so a jobs store) of its own."""
    ledger = folder / "ledger.sqlite"
    Ledger.open(ledger).close()
    return ["--ledger", ledger]


def test_full_queue_is_429_with_retry_after(tmp_path: Path, home: Path, clips) -> None:
    with ServiceProcess("--home", home, "--workers", 1, "--queue", 1, *own_state(tmp_path)) as service:
        first = post_clip(service.url, clips["long"], wait=0)
        assert first.status_code == 202
        refused = post_clip(service.url, clips["camera"], wait=0)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert poll(service.url, first.json()["id"])["state"] == "done"
        assert post_clip(service.url, clips["camera"]).status_code == 200


def test_killed_service_keeps_its_jobs(tmp_path: Path, home: Path, clips) -> None:
    state = tmp_path
    args = ["--home", home, *own_state(state)]
    with ServiceProcess(*args) as service:
        finished = post_clip(service.url, clips["camera"])
        assert finished.json()["verdict"] == "no-evidence"
        done_id = finished.headers["content-location"].rsplit("/", 1)[-1]
        in_flight = post_clip(service.url, clips["long"], wait=0).json()["id"]
        assert httpx.get(f"{service.url}/v1/jobs/{in_flight}").json()["state"] in ("queued", "running")
        service.kill()
    assert (state / "service-jobs.sqlite").exists()
    with ServiceProcess(*args, port=service.port) as restarted:
        assert poll(restarted.url, done_id)["report"]["verdict"] == "no-evidence"
        resumed = poll(restarted.url, in_flight)
        assert resumed["state"] == "done" and resumed["report"]["path"] == "long.mp4"
    assert list((state / "service-uploads").iterdir()) == []


def worker_pids(service: ServiceProcess) -> list[int]:
    """The service's verifier processes (its spawned children, not multiprocessing's resource tracker)."""
    pid = service.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children
            if b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes()]


def test_a_killed_worker_is_replaced_and_its_job_run_again(home: Path, clips, tmp_path: Path) -> None:
    with ServiceProcess("--home", home, *own_state(tmp_path)) as service:
        job_id = post_clip(service.url, clips["long"], wait=0).json()["id"]
        deadline = time.monotonic() + 30
        while httpx.get(f"{service.url}/v1/jobs/{job_id}").json()["state"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        [worker] = worker_pids(service)
        os.kill(worker, signal.SIGKILL)
        job = poll(service.url, job_id)
        assert job["state"] == "done" and job["report"]["verdict"] == "no-evidence"
        assert worker not in worker_pids(service)


def test_verify_can_require_the_token_and_a_detector_scores_unmarked_clips(
        home: Path, token_file: Path, tmp_path: Path) -> None:
    with ServiceProcess("--home", home, "--token-file", token_file, "--token-for-verify",
                        "--detector", "builtin", *own_state(tmp_path)) as service:
        assert post_clip(service.url, sample_data(REAL_CLIP)).status_code == 401
        assert httpx.get(f"{service.url}/v1/jobs/{'0' * 32}").status_code == 401
        response = post_clip(service.url, sample_data(REAL_CLIP), headers={"Authorization": f"Bearer {TOKEN}"})
        report = response.json()
        assert response.status_code == 200 and report["detector"]["score"] is not None
        model = httpx.get(f"{service.url}/v1/version").json()["detector"]["model"]
        assert model is not None and report["detector"]["model"] == model


def test_a_second_service_on_the_same_jobs_store_is_refused(service, home: Path) -> None:
    second = ServiceProcess("--home", home)
    with pytest.raises(RuntimeError, match="another provenance serve is using the jobs store"):
        second.start()
        second.stop()
