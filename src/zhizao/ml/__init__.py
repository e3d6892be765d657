"""Machine-learning plumbing shared by the apps: the model registry and data fingerprints."""

from zhizao.ml.registry import ModelRegistry, ModelVersion, RegistryError, fingerprint

__all__ = ["ModelRegistry", "ModelVersion", "RegistryError", "fingerprint"]
