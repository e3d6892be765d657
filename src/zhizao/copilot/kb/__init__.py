"""The knowledge base: documents on disk in a folder, searchable with citations.

``loaders`` turns txt/md/html/pdf/docx into heading and text blocks, ``chunking`` groups
them into passages that keep their heading path and position, ``text`` tokenises Chinese
(jieba + character bigrams) and English (light stemming), ``index`` stores the folder and
ranks passages (BM25 via bm25s, plus an optional local embedding model), and ``answer``
extracts the answer sentences with citations. ``KnowledgeBase`` is the entry point.
"""

from zhizao.copilot.kb.index import AddReport, KnowledgeBase
from zhizao.copilot.kb.model import LEVELS, Answer, Citation, KbError, check_level, levels_for

__all__ = ["LEVELS", "AddReport", "Answer", "Citation", "KbError", "KnowledgeBase", "check_level", "levels_for"]
