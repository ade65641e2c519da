"""autograde: an nbgrader 0.9.6 course for the frozen-vs-trainable lessons, with trajectory feedback."""
