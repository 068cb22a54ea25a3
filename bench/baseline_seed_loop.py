"""The baseline: a plain aiohttp loop making the seed's requests, with no workflow engine.

Usage: ``python bench/baseline_seed_loop.py BASE_URL`` against ``weft.testing.seed_server``.
Resolve the model version, submit, poll until a terminal status, read the result; every response
is parsed as JSON, as a runner would. Prints the outputs as one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import sys

import aiohttp

TERMINAL = {"succeeded", "failed", "expired", "canceled"}


async def main(base_url: str) -> int:
    headers = {"Authorization": "Bearer bench-token"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(f"{base_url}/api/v1/model-versions/128713") as resp:
            assert resp.status == 200
            air = (await resp.json())["air"]
        body = {
            "steps": [
                {
                    "$type": "imageGen",
                    "name": "generate",
                    "input": {"engine": "sdxl", "model": air, "prompt": "p", "quantity": 1},
                }
            ]
        }
        async with http.post(f"{base_url}/v2/consumer/workflows", json=body) as resp:
            assert resp.status == 202
            workflow_id = (await resp.json())["id"]
        url = f"{base_url}/v2/consumer/workflows/{workflow_id}"
        while True:
            async with http.get(url) as resp:
                assert resp.status == 200
                status = (await resp.json())["status"]
            if status in TERMINAL:
                break
        if status != "succeeded":
            print(json.dumps({"status": status}))
            return 1
        async with http.get(url) as resp:
            assert resp.status == 200
            result = await resp.json()
    outputs = {
        "air": air,
        "workflowId": workflow_id,
        "outputBlobUrl": result["steps"][0]["jobs"][0]["result"]["blobs"][0]["url"],
        "cost": result["cost"]["total"],
    }
    print(json.dumps(outputs))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
