"""The TTMR++ dual encoder and everything needed to run it: audio front end, towers, loss,
architecture configs, foreign checkpoints, the model factory and whole-track embedding."""
