"""A random forest on the statistics, fitted by scikit-learn and evaluated in torch from fixed-size buffers."""

from __future__ import annotations

import numpy as np
import torch

from provenance.errors import ModelError

FOREST_TREES = 200
FOREST_MAX_LEAVES = 256  # per tree, so every tree fits buffers of 2 * 256 - 1 nodes
FOREST_MIN_LEAF_ROWS = 5
FOREST_PROBABILITY_FLOOR = 0.01  # the forest's logit is bounded to +-4.6: a unanimous vote is not certainty
UNDECIDED = 0.5


class Forest(torch.nn.Module):
    """Logit of the mean probability that the trees' leaves give (N, features) rows; 0 until fitted.

    Each node is stored as (feature, threshold, left, right, probability); a leaf points to itself.
    """

    def __init__(self, features: int, trees: int = FOREST_TREES, max_leaves: int = FOREST_MAX_LEAVES) -> None:
        super().__init__()
        self.features = features
        nodes = 2 * max_leaves - 1
        self.register_buffer("feature", torch.zeros(trees, nodes, dtype=torch.int16))
        self.register_buffer("threshold", torch.zeros(trees, nodes, dtype=torch.float64))
        self.register_buffer("left", torch.zeros(trees, nodes, dtype=torch.int16))
        self.register_buffer("right", torch.zeros(trees, nodes, dtype=torch.int16))
        self.register_buffer("probability", torch.full((trees, nodes), UNDECIDED, dtype=torch.float32))

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        """(N, features) floats to (N,) logits."""
        values = rows.double()
        trees = torch.arange(self.feature.shape[0])[None, :]
        row_index = torch.arange(len(rows))[:, None]
        node = torch.zeros(len(rows), len(self.feature), dtype=torch.long)
        for _ in range(self.feature.shape[1]):  # no path is longer than a tree's nodes, unless the trees loop
            goes_left = values[row_index, self.feature[trees, node].long()] <= self.threshold[trees, node]
            following = torch.where(goes_left, self.left[trees, node], self.right[trees, node]).long()
            if torch.equal(following, node):
                break
            node = following
        else:
            raise ModelError("the forest's trees loop: the weights are damaged")
        mean = self.probability[trees, node].mean(dim=1)
        return torch.logit(mean.clamp(FOREST_PROBABILITY_FLOOR, 1 - FOREST_PROBABILITY_FLOOR))

    def check(self) -> None:
        """Raise ModelError unless every stored node names a real statistic and a node of its own tree."""
        nodes = self.feature.shape[1]
        for name, limit in (("feature", self.features), ("left", nodes), ("right", nodes)):
            indices = getattr(self, name)
            if indices.min() < 0 or indices.max() >= limit:
                raise ModelError(f"the forest's {name} indices leave 0..{limit - 1}: the weights are damaged")

    def fit(self, rows: np.ndarray, labels: np.ndarray, seed: int) -> None:
        """Grow a class-balanced random forest (scikit-learn) on `rows` and copy its trees into the buffers."""
        from sklearn.ensemble import RandomForestClassifier

        trees, nodes = self.feature.shape
        forest = RandomForestClassifier(n_estimators=trees, max_leaf_nodes=(nodes + 1) // 2,
                                        min_samples_leaf=FOREST_MIN_LEAF_ROWS, class_weight="balanced",
                                        random_state=seed, n_jobs=1)
        forest.fit(rows, labels)
        arrays = {name: np.zeros(buffer.shape, dtype=np.float64) for name, buffer in self.named_buffers()}
        arrays["probability"][:] = UNDECIDED
        for index, estimator in enumerate(forest.estimators_):
            tree = estimator.tree_
            count = tree.node_count
            leaf = tree.children_left[:count] < 0
            own = np.arange(count)
            arrays["feature"][index, :count] = np.where(leaf, 0, tree.feature[:count])
            arrays["threshold"][index, :count] = np.where(leaf, 0.0, tree.threshold[:count])
            arrays["left"][index, :count] = np.where(leaf, own, tree.children_left[:count])
            arrays["right"][index, :count] = np.where(leaf, own, tree.children_right[:count])
            arrays["probability"][index, :count] = tree.value[:count, 0, 1] / tree.value[:count, 0].sum(axis=1)
        with torch.no_grad():
            for name, buffer in self.named_buffers():
                buffer.copy_(torch.from_numpy(arrays[name]).to(buffer.dtype))
