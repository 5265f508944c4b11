"""Labelled photo collections read into training chips (``faceorg train --dataset DIR``).

Reading photos and finding their faces happens here, above the torch-only training package
(:mod:`faceorg.train`), which receives the chips as plain arrays.
"""
