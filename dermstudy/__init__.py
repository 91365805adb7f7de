"""dermstudy: blinded reader studies with real and GLIDE-generated dermoscopic images."""

__version__ = "0.1.0"
