"""The industrial copilot (工业大模型助手): data questions, knowledge base Q&A and agent tools.

``sql`` answers data questions (NL→SQL), ``kb`` answers questions from documents and
incident records with citations, ``agent`` routes a chat turn to the right tool (by
intent rules offline, by an LLM's tool calls when one is configured in ``llm``) and logs
every tool call, ``service`` runs it in the platform, ``api`` serves ``/api/copilot``.
"""

from zhizao.apps import AppSpec, ConsolePage

APP = AppSpec(service="zhizao.copilot.service:CopilotService", router="zhizao.copilot.api:router",
              cli="zhizao.copilot.cli:register", pages=(ConsolePage("copilot", "✦"),), order=90)
