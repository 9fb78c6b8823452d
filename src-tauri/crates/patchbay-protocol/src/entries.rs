//! placeholder (owner fills in)
