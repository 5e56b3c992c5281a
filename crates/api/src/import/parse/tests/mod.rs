//! Tests of the recall parsers on real excerpts of the public data sets.

mod full_data_tmp;
