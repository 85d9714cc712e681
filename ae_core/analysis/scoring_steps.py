"""The steps of scoring a model (ae_core.analysis.metrics.evaluate_all), in order, and the words a
progress bar says for each. No torch here: the app reads a job's progress without loading it.
"""

# Each step's share of the time of a first MNIST scoring on 2 cores: the raw-pixel probes and the
# classical filters are most of it, and both depend on the data alone (kept in evaluate_all's
# `store`), so a second model of the same data spends its time on its own steps.
SCORING_STEPS = {"reconstruction": 0.03, "probes": 0.12, "pca probes": 0.05, "raw probes": 0.18,
                 "jacobian": 0.02, "denoising": 0.57, "features": 0.03}
STEP_WORDS = {"reconstruction": "reconstructing the test images", "probes": "kNN and probes on the code",
              "pca probes": "the PCA baseline's probes", "raw probes": "the raw pixels' probes",
              "jacobian": "the encoder's Jacobian", "denoising": "denoising beside the classical filters",
              "features": "feature locality"}
