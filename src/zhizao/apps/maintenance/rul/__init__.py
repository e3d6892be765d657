"""Remaining useful life (RUL) from run-to-failure histories in the NASA C-MAPSS format.

``cmapss`` reads the files (bad rows reported by line number), ``features`` turns them
into regime-normalised sensor windows, ``network`` is the 1D-CNN ensemble, ``baseline``
the LightGBM comparison, ``estimator`` ties them into one fit/predict/save/load model,
``validation`` is the engine-wise cross-validation with test-like truncation, and
``cli`` the stable batch commands ``zhizao maintenance rul fit|predict``.
"""
