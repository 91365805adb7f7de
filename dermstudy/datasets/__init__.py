"""Getting images into a workspace: HAM10000 import, synthetic-image import, dataset summaries."""
