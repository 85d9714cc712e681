"""Home page of Latent Space Explorer: the shipped models and where to start."""

from pathlib import Path

import pandas as pd
import streamlit as st

from ae_core.checkpoint import list_checkpoints

st.set_page_config(page_title="Latent Space Explorer", page_icon="🧭", layout="wide")
st.title("Latent Space Explorer")
st.caption("Train, load and look inside autoencoders: is the learned code better than pixels or PCA?")
infos = list_checkpoints(Path(__file__).parent / "checkpoints")
rows = [{"model": i.name, "kind": i.kind, "code size": i.code_dim, "dataset": i.dataset,
         "test MSE": i.metrics.get("recon_mse"), "PCA MSE": i.metrics.get("pca_recon_mse")}
        for i in infos if not i.error]
st.dataframe(pd.DataFrame(rows), hide_index=True, use_container_width=True)
