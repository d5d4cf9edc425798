"""Where API keys come from: plaintext in PROVER_API_KEYS, digests in a key file; the API
refuses to start without any."""

from __future__ import annotations

import subprocess
import sys

import pytest

from api.auth import hash_key, load_key_hashes

from support.service_helpers import child_env


def test_keys_from_the_environment_and_a_file_are_kept_as_digests(tmp_path, monkeypatch):
    key_file = tmp_path / "keys"
    key_file.write_text(f"# ops team\nsha256:{hash_key('from-file')}\n\n")
    monkeypatch.setenv("PROVER_API_KEYS", " one , two,")
    digests = load_key_hashes(key_file)
    assert digests == {hash_key("one"), hash_key("two"), hash_key("from-file")}
    assert "one" not in digests and all(len(d) == 64 for d in digests)


def test_a_malformed_key_file_line_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("PROVER_API_KEYS", raising=False)
    key_file = tmp_path / "keys"
    key_file.write_text("sha256:" + "0" * 64 + "\nplaintext-key\n")
    with pytest.raises(ValueError, match=r"keys:2: expected 'sha256:<64 hex digits>'"):
        load_key_hashes(key_file)


def run_prover(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in child_env().items() if not k.startswith("PROVER_API_KEYS")}
    return subprocess.run([sys.executable, "-m", "prover.cli", *args], capture_output=True,
                          text=True, env={**environment, **env}, timeout=60)  # fmt: skip


def test_the_api_will_not_start_without_keys():
    done = run_prover("api", "--redis", "redis://127.0.0.1:1/0")
    assert done.returncode != 0 and "no API keys configured" in done.stderr


def test_hash_key_prints_the_key_file_line():
    done = run_prover("hash-key", "secret")
    assert done.returncode == 0 and done.stdout.strip() == f"sha256:{hash_key('secret')}"
