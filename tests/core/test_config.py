from zhizao.core.config import Settings
from zhizao.core.i18n import catalogue, pick_lang, t


def test_defaults_need_no_server(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = Settings()
    assert s.resolved_database_url.startswith("sqlite:///")
    assert s.resolved_historian_url.startswith("duckdb:///")
    assert s.mqtt_url is None


def test_environment_overrides_toml(tmp_path, monkeypatch):
    (tmp_path / "zhizao.toml").write_text('port = 8080\nsim_speed = 5.0\ndata_dir = "/srv/zhizao"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ZHIZAO_PORT", "9090")
    s = Settings()
    assert s.port == 9090  # env wins
    assert s.sim_speed == 5.0  # from the file
    assert str(s.data_dir) == "/srv/zhizao"


def test_config_file_named_by_env(tmp_path, monkeypatch):
    cfg = tmp_path / "other.toml"
    cfg.write_text("retention_days = 365\n")
    monkeypatch.setenv("ZHIZAO_CONFIG", str(cfg))
    assert Settings().retention_days == 365


def test_catalogues_have_the_same_keys():
    assert catalogue("en").keys() == catalogue("zh-CN").keys()
    assert t("state.down", "zh-CN") == "故障停机"
    assert t("state.down", "en") == "Down"
    assert t("no.such.key", "en") == "no.such.key"


def test_accept_language():
    assert pick_lang("en-US,en;q=0.9") == "en"
    assert pick_lang("zh-TW,zh;q=0.9") == "zh-CN"
    assert pick_lang(None) == "zh-CN"
