"""The classical baseline: LBP histograms + HOG (scikit-image) with a linear model (scikit-learn).

What a vision engineer would have built before CNNs; the benchmark runs it on the same folds as the
CNN so the two figures can be compared directly.
"""

from __future__ import annotations

import numpy as np


def lbp_hog_features(images: np.ndarray) -> np.ndarray:
    """Per image (N, C, S, S) in [0, 1]: uniform LBP histograms at two radii (whole image and a 2x2 grid)
    and a coarse HOG on the image downsampled to 64 px."""
    from skimage.feature import hog, local_binary_pattern
    from skimage.transform import resize

    rows = []
    for image in images:
        gray = image.mean(0)
        eight = (gray * 255).astype(np.uint8)
        parts = []
        for points, radius in ((8, 1), (16, 2)):
            codes = local_binary_pattern(eight, points, radius, method="uniform")
            bins = points + 2
            h, w = codes.shape
            regions = [codes] + [codes[i * h // 2:(i + 1) * h // 2, j * w // 2:(j + 1) * w // 2]
                                 for i in range(2) for j in range(2)]
            for region in regions:
                hist = np.bincount(region.astype(np.int64).ravel(), minlength=bins)[:bins].astype(np.float64)
                parts.append(hist / max(hist.sum(), 1))
        small = resize(gray, (64, 64), anti_aliasing=True)
        parts.append(hog(small, orientations=9, pixels_per_cell=(16, 16), cells_per_block=(2, 2)))
        parts.append(np.array([gray.mean(), gray.std()]))
        rows.append(np.concatenate(parts))
    return np.asarray(rows)


def fit_baseline(features: np.ndarray, labels: np.ndarray):
    """Standardised features into multinomial logistic regression (a pipeline with predict_proba)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=3000)).fit(features, labels)
