"""Photo decoding: upright, first frame, reduced JPEG decoding within a memory budget, clear errors for bad files."""
