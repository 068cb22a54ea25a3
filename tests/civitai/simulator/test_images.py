"""Output images: blocked and not-yet-available ones, fresh signed URLs on every read, and the
placeholder pictures (requested size, text drawn on them)."""

from __future__ import annotations

import io

from PIL import Image, ImageChops

from tests.civitai.simulator.support import WORKFLOWS, air, request, sd, submit
from weft.civitai.simulator import SimulatorConfig, run_simulator
from weft.civitai.simulator.images import Placeholder, render


async def test_blocked_images_by_index_have_no_url_and_a_reason() -> None:
    config = SimulatorConfig.fast(blocked_indexes=(1,), blocked_reason="Blocked: policy.")
    async with run_simulator(config) as sim:
        done = await submit(sim, sd(quantity=3, outputFormat="png"), "?wait=30")
        assert done.json["status"] == "succeeded"
        images = done.json["steps"][0]["output"]["images"]
        assert [i["available"] for i in images] == [True, False, True]
        blocked = images[1]
        assert blocked["url"] is None and blocked["urlExpiresAt"] is None
        assert blocked["blockedReason"] == "Blocked: policy."
        assert all("blockedReason" not in i for i in (images[0], images[2]))
        for image in (images[0], images[2]):
            got = await request(sim, "GET", image["url"].removeprefix(sim.base_url), token=None)
            assert got.status == 200
        blob = await request(sim, "GET", f"/v2/consumer/blobs/{blocked['id']}")
        assert blob.status == 404 and "Blocked: policy." in blob.json["detail"]


async def test_blocked_images_at_a_rate_are_seeded() -> None:
    async def pattern() -> list[bool]:
        async with run_simulator(SimulatorConfig.fast(blocked_rate=0.5, fault_seed=3)) as sim:
            done = await submit(sim, sd(quantity=12), "?wait=30")
            return [i["available"] for i in done.json["steps"][0]["output"]["images"]]

    first = await pattern()
    assert first == await pattern()
    assert True in first and False in first


async def test_images_become_available_later() -> None:
    config = SimulatorConfig.fast(unavailable_seconds=3600)
    async with run_simulator(config) as sim:
        done = await submit(sim, sd(), "?wait=30")
        image = done.json["steps"][0]["output"]["images"][0]
        assert (done.json["status"], image["available"], image["url"]) == ("succeeded", False, None)
        assert "blockedReason" not in image
        sim.state.config.unavailable_seconds = 0
        again = await request(sim, "GET", f"{WORKFLOWS}/{done.json['id']}")
        assert again.json["steps"][0]["output"]["images"][0]["available"] is True


async def test_getting_the_workflow_again_gives_fresh_urls() -> None:
    async with run_simulator(SimulatorConfig.fast(blob_url_ttl=-1)) as sim:
        done = await submit(sim, sd(), "?wait=30")
        stale = done.json["steps"][0]["output"]["images"][0]["url"]
        expired = await request(sim, "GET", stale.removeprefix(sim.base_url), token=None)
        assert expired.status == 403 and "expired" in expired.json["detail"]
        sim.state.config.blob_url_ttl = 600
        again = await request(sim, "GET", f"{WORKFLOWS}/{done.json['id']}")
        fresh = again.json["steps"][0]["output"]["images"][0]["url"]
        assert fresh != stale
        got = await request(sim, "GET", fresh.removeprefix(sim.base_url), token=None)
        assert got.status == 200 and got.headers["Content-Type"] == "image/jpeg"


async def test_placeholders_have_the_requested_size_and_text_on_them() -> None:
    async with run_simulator(SimulatorConfig.fast()) as sim:
        payload = sd("sdxl", 1002, width=640, height=384, seed=9, outputFormat="png",
                     loras={air(1007): 0.8})  # fmt: skip
        done = await submit(sim, payload, "?wait=30")
        url = done.json["steps"][0]["output"]["images"][0]["url"]
        data = (await request(sim, "GET", url.removeprefix(sim.base_url), token=None)).raw
    served = Image.open(io.BytesIO(data)).convert("RGB")
    assert served.size == (640, 384)
    spec = Placeholder("a lighthouse at dusk", 9, 0, 640, 384, "png",
                       f"Harbor XL v2.0 ({air(1002)})", ("Paper Cut Style:0.8",))  # fmt: skip
    assert render(spec) == data  # deterministic
    blank = Image.open(io.BytesIO(render(spec, text=False))).convert("RGB")
    difference = ImageChops.difference(served, blank)
    box = difference.getbbox()
    assert box is not None and box[1] == 0  # the text panel, at the top
    # text pixels: many near-white pixels inside the dark panel
    panel = served.crop((0, 0, 640, box[3]))
    raw = panel.tobytes()
    light = sum(1 for i in range(0, len(raw), 3) if min(raw[i : i + 3]) > 200)
    assert light > 500


def test_placeholder_text_says_what_was_asked() -> None:
    spec = Placeholder("x" * 500, 42, 1, 1024, 1024, "png", "SD XL v1.0", ("A:1", "B:0.5"))
    lines = spec.lines(60)
    assert lines[0] == "weft simulator placeholder"
    assert any(line.startswith("prompt: xxx") for line in lines)
    assert lines[-1] == "loras: A:1, B:0.5" and "seed 42  image 2" in lines
    assert all(len(line) <= 60 for line in lines)
    tiny = Image.open(io.BytesIO(render(Placeholder("p", 1, 0, 64, 64))))
    assert tiny.size == (64, 64)
