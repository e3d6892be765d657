"""Fleet-scale health models on Dask: reproducible simulated assets, per-asset regime-aware PCA, ranking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from zhizao.apps.maintenance.fleet import (
    FAULT_MODES,
    SENSORS,
    SETTINGS,
    AssetHealthModel,
    FleetConfig,
    is_degrading,
    precision_at_k,
    run_fleet,
    simulate_asset,
)


def test_simulated_assets_are_reproducible_and_some_degrade():
    config = FleetConfig(seed=4)
    a, b = simulate_asset(17, config), simulate_asset(17, config)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == [*SETTINGS, *SENSORS] and len(a) == config.samples
    assert not simulate_asset(17, FleetConfig(seed=5)).equals(a)
    flags = [is_degrading(i, config) for i in range(400)]
    assert 0.05 < np.mean(flags) < 0.15
    degrading = next(i for i, f in enumerate(flags) if f)
    assert simulate_asset(degrading, config).attrs["fault_mode"] in FAULT_MODES


def test_health_model_separates_a_drifting_asset_from_its_healthy_past():
    config = FleetConfig(seed=1, degrading_fraction=1.0)  # every asset degrades
    frame = simulate_asset(3, config)
    settings, sensors = frame[list(SETTINGS)].to_numpy(), frame[list(SENSORS)].to_numpy()
    model = AssetHealthModel().fit(settings[:360], sensors[:360])
    assert model.regimes.count == 3  # the three load levels
    healthy = model.score(settings[360:500], sensors[360:500])
    end = model.score(settings[-24:], sensors[-24:])
    assert np.median(healthy) < 1.0 < np.median(end)


def test_precision_at_k():
    records = [{"risk": r, "degrading": d} for r, d in [(5, True), (4, False), (3, True), (1, False)]]
    assert precision_at_k(records, 2) == 0.5 and precision_at_k(records, 1) == 1.0


@pytest.mark.slow
def test_fleet_on_a_local_cluster_ranks_degrading_assets_first():
    result = run_fleet(assets=12, config=FleetConfig(seed=2, degrading_fraction=0.3), workers=2, chunk=3)
    ranking = result["ranking"]
    assert sorted(r["asset"] for r in ranking) == list(range(12))
    assert result["degrading"] == sum(is_degrading(i, FleetConfig(seed=2, degrading_fraction=0.3))
                                      for i in range(12)) > 0
    risks = [r["risk"] for r in ranking]
    assert risks == sorted(risks, reverse=True)
    degrading = [r["risk"] for r in ranking if r["degrading"]]
    healthy = [r["risk"] for r in ranking if not r["degrading"]]
    assert np.median(degrading) > np.median(healthy)
    assert result["precision_at_k"] >= 0.5
    assert len(result["peak_rss_mb"]["workers"]) == 2 and all(v > 0 for v in result["peak_rss_mb"]["workers"].values())


@pytest.mark.slow
def test_fleet_uses_a_scheduler_address_from_the_environment(monkeypatch):
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as cluster:
        monkeypatch.setenv("ZHIZAO_DASK_SCHEDULER", cluster.scheduler_address)
        result = run_fleet(assets=4, config=FleetConfig(seed=0), chunk=2)
    assert result["scheduler"] == cluster.scheduler_address
    assert len(result["ranking"]) == 4 and len(result["peak_rss_mb"]["workers"]) == 1
