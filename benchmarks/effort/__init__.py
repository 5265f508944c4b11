"""The effort benchmark's pieces: libraries, ground truth, the oracle users and what they count."""
