"""Visual quality inspection (AI质检): defect classification, anomaly detection, the inspection station.

``images`` reads pictures, ``net``/``train`` build and train the compact CNN (PyTorch, CPU) and export
ONNX, ``predictor`` infers with onnxruntime, ``calibration`` makes confidence honest, ``anomaly`` is the
PaDiM-style detector for products with only good samples, ``baseline`` the classical LBP/HOG model,
``synthetic`` draws steel-like test pictures for the demo camera, ``service`` runs the station
(results, review queue, retraining, registry), ``api`` and ``cli`` expose it.
"""

from zhizao.apps import AppSpec, ConsolePage

APP = AppSpec(service="zhizao.apps.inspection.service:InspectionService",
              router="zhizao.apps.inspection.api:router", cli="zhizao.apps.inspection.cli:register",
              pages=(ConsolePage("inspection", "◎"), ConsolePage("review", "✓", role="operator")), order=50)
