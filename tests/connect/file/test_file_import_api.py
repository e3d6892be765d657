"""File import over HTTP: upload and preview, commit with a mapping, follow the job."""

from __future__ import annotations

import io
import time

import pandas as pd
from tests.conftest import auth

TEMP1 = "zhizao/suzhou/machining/line1/turning/cnc1/temperature"
VIB1 = "zhizao/suzhou/machining/line1/turning/cnc1/vibration_rms"
T0 = (int(time.time()) // 86_400 - 1) * 86_400_000  # yesterday 00:00 UTC
CSV = (f"time,cnc1/temperature,Vib,comment\n{T0},60.5,1.5,a\n{T0 + 1000},bad,1.6,b\n{T0 + 2000},62.5,1.7,c\n"
       f"{T0 + 3000},63,1.8,d\n").encode()


def upload(client, token, data: bytes = CSV, name: str = "line1.csv"):
    return client.post("/api/import/preview", files={"file": (name, data, "text/csv")}, headers=auth(token))


def test_only_engineers_import(client, tokens) -> None:
    assert client.post("/api/import/preview", files={"file": ("a.csv", CSV)}).status_code == 401
    for role in ("viewer", "operator"):
        r = upload(client, tokens[role])
        assert r.status_code == 403 and "'engineer' or higher" in r.json()["detail"]
        r = client.post("/api/import/commit", json={"upload_id": "0" * 32, "options": {"time_column": "t"}},
                        headers=auth(tokens[role]))
        assert r.status_code == 403
    assert upload(client, tokens["admin"]).status_code == 200


def test_preview_then_commit_with_an_edited_mapping(client, tokens) -> None:
    engineer = auth(tokens["engineer"])
    pv = upload(client, tokens["engineer"]).json()
    assert (pv["file"], pv["layout"], pv["time_format"], pv["rows"]) == ("line1.csv", "wide", "epoch_ms", 4)
    assert pv["mapping"] == {"cnc1/temperature": TEMP1, "Vib": None, "comment": None}
    assert [c["type"] for c in pv["columns"]] == ["time", "float", "float", "string"]

    options = {**pv["options"], "mapping": {**pv["mapping"], "Vib": VIB1}}
    r = client.post("/api/import/commit", json={"upload_id": pv["upload_id"], "options": options, "wait": True},
                    headers=engineer)
    job = r.json()
    assert r.status_code == 200 and job["state"] == "done" and job["progress"] == 1.0
    result = job["result"]
    assert (result["rows"], result["accepted"], result["rejected"]) == (4, 7, {"wrong_type": 1})
    assert result["bad_rows"][0] | {"detail": ""} == {"row": 2, "line": 3, "column": "cnc1/temperature",
                                                      "cause": "wrong_type", "detail": "", "value": "bad",
                                                      "tag": TEMP1}
    assert client.get(f"/api/import/jobs/{job['id']}", headers=engineer).json()["state"] == "done"

    history = client.get(f"/api/tags/{VIB1}/history", params={"start": T0, "end": T0 + 10_000},
                         headers=engineer).json()
    assert history["points"] == [[T0, 1.5], [T0 + 1000, 1.6], [T0 + 2000, 1.7], [T0 + 3000, 1.8]]
    letters = client.get("/api/deadletters", params={"source": "file:line1.csv"}, headers=engineer).json()
    assert letters["items"][0]["cause"] == "wrong_type" and "row 2" in letters["items"][0]["detail"]

    # an upload is imported once: committing it again is refused
    r = client.post("/api/import/commit", json={"upload_id": pv["upload_id"], "options": options},
                    headers=engineer)
    assert r.status_code == 404 and "upload_id" in r.json()["detail"]


def test_background_job_reports_progress_until_done(client, tokens) -> None:
    engineer = auth(tokens["engineer"])
    frame = pd.DataFrame({"ts": pd.date_range(pd.Timestamp(T0, unit="ms", tz="UTC"), periods=500, freq="1s"),
                          "tag": ["cnc1/temperature"] * 500, "value": [float(i % 90) for i in range(500)]})
    buf = io.BytesIO()
    frame.to_parquet(buf)
    pv = upload(client, tokens["engineer"], buf.getvalue(), "hist.parquet").json()
    assert (pv["format"], pv["layout"]) == ("parquet", "long")
    job = client.post("/api/import/commit", json={"upload_id": pv["upload_id"], "options": pv["options"]},
                      headers=engineer).json()
    assert job["state"] in ("running", "done")
    deadline = time.monotonic() + 30
    while job["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
        job = client.get(f"/api/import/jobs/{job['id']}", headers=engineer).json()
    assert job["state"] == "done" and job["result"]["accepted"] == 500 and job["rows_done"] == 500


def test_bad_uploads_and_options_name_the_problem(client, tokens) -> None:
    engineer = auth(tokens["engineer"])
    r = upload(client, tokens["engineer"], b"\x89PNG\r\n\x1a\n\0\0", "photo.png")
    assert r.status_code == 422 and "'photo.png' is neither CSV text nor Parquet" in r.json()["detail"]
    pv = upload(client, tokens["engineer"]).json()
    bad = {**pv["options"], "time_column": "when", "mapping": {"Vib": "zhizao/no/such/tag"}}
    r = client.post("/api/import/commit", json={"upload_id": pv["upload_id"], "options": bad}, headers=engineer)
    detail = r.json()["detail"]
    assert r.status_code == 422 and "options.time_column: no column 'when'" in detail
    assert "options.mapping['Vib']: no tag 'zhizao/no/such/tag'" in detail
    r = client.post("/api/import/commit", json={"upload_id": "../../etc", "options": pv["options"]},
                    headers=engineer)
    assert r.status_code == 404
    assert client.get("/api/import/jobs/nope", headers=engineer).status_code == 404
