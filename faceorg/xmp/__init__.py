"""Face names in XMP: reading and writing MWG and Microsoft Photo face regions, embedded and in sidecars.

A leaf: files in, plain data out (names and boxes normalised to the photo). Matching regions with the
library's faces is the people layer's job (:mod:`faceorg.people.xmp_import` and
:mod:`faceorg.people.xmp_export`).
"""
