"""convgrade's autograder: grades the convolution assignment against live torch."""
