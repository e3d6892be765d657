"""A client for any OpenAI-compatible chat endpoint (a local Qwen behind vLLM or Ollama, or a hosted one).

Configured by environment variables, never required:

- ``ZHIZAO_LLM_URL``: the API base, e.g. ``http://127.0.0.1:11434/v1`` (``/chat/completions`` is appended)
- ``ZHIZAO_LLM_MODEL``: the model name, e.g. ``qwen2.5:7b-instruct``
- ``ZHIZAO_LLM_API_KEY``: a bearer token, when the endpoint needs one

``LlmClient.from_env()`` is None when no URL is set: the copilot then works offline by rules.
A client is also a callable ``client(messages) -> str``, the shape ``copilot.sql`` takes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import httpx

URL_ENV, MODEL_ENV, KEY_ENV = "ZHIZAO_LLM_URL", "ZHIZAO_LLM_MODEL", "ZHIZAO_LLM_API_KEY"


class LlmError(Exception):
    """The endpoint failed or answered something that is not a chat completion."""


@dataclass
class ToolRequest:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass
class Reply:
    content: str
    tool_calls: list[ToolRequest] = field(default_factory=list)
    raw_message: dict[str, Any] = field(default_factory=dict)


class LlmClient:
    def __init__(self, url: str, model: str, api_key: str | None = None, timeout_s: float = 60.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(timeout=timeout_s, headers=headers, transport=transport)

    @classmethod
    def from_env(cls) -> LlmClient | None:
        url = os.environ.get(URL_ENV, "").strip()
        if not url:
            return None
        return cls(url, os.environ.get(MODEL_ENV, "").strip() or "default", os.environ.get(KEY_ENV) or None)

    def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
             temperature: float = 0.0) -> Reply:
        body: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": temperature}
        if tools:
            body["tools"] = tools
            body["tool_choice"] = "auto"
        endpoint = self.url if self.url.endswith("/chat/completions") else self.url + "/chat/completions"
        try:
            response = self._http.post(endpoint, json=body)
            response.raise_for_status()
            message = response.json()["choices"][0]["message"]
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise LlmError(f"{endpoint}: {exc}") from None
        calls = []
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            try:
                arguments = json.loads(function.get("arguments") or "{}")
            except ValueError:
                arguments = {}
            calls.append(ToolRequest(call.get("id") or function.get("name", ""), function.get("name", ""),
                                     arguments if isinstance(arguments, dict) else {}))
        return Reply(message.get("content") or "", calls, message)

    def __call__(self, messages: list[dict[str, str]]) -> str:
        return self.chat(messages).content

    def close(self) -> None:
        self._http.close()
