"""The simulated clock: evaluations on N workers, their cost and time, the evaluation log."""
