"""Tables in presentation size are HTML drawn from text (dashboard.render.text_table.as_text): the
text must say what st.dataframe's column_config says, cell by cell."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from dashboard.render.text_table import as_text, number


def test_each_column_is_formatted_and_labelled_as_its_column_config_says():
    df = pd.DataFrame({"model": ["a", "b"], "MSE": [0.012345, 0.5], "kNN": [0.9778, None],
                       "code": [16, 32], "PSNR": [21.456, float("nan")]}, index=[7, 3])
    out = as_text(df, {"MSE": st.column_config.NumberColumn(format="%.4f"),
                       "kNN": st.column_config.NumberColumn(format="percent"),
                       "PSNR": st.column_config.NumberColumn("PSNR (dB)", format="%.2f")}, missing="—")
    assert list(out.columns) == ["model", "MSE", "kNN", "code", "PSNR (dB)"]
    assert out.to_dict("list") == {"model": ["a", "b"], "MSE": ["0.0123", "0.5000"], "kNN": ["97.78%", "—"],
                                   "code": ["16", "32"], "PSNR (dB)": ["21.46", "—"]}


def test_an_unformatted_number_keeps_four_decimals_at_most():
    assert number(0.123456, None) == "0.1235" and number(2.5, None) == "2.5" and number(3.0, None) == "3"
    assert number(123456.7, None) == "123,457" and number(math.inf, None) == "inf"
    assert number(0.5, "%.3g") == "0.5" and number(1234.5678, "%.3g") == "1.23e+03"
