//! Where a CSV record is in its file, for error messages that name lines.

/// Line numbers of records, counted from the bytes: the csv crate's own line
/// count is one short for a record that follows a `\r\n` (it starts the record
/// at the `\n`), and files saved on Windows end their lines so. A line ends
/// with `\n`, `\r\n` or a lone `\r`, as for the csv crate.
pub(crate) struct Lines<'a> {
    body: &'a [u8],
    counted_to: usize,
    line: u64,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(body: &'a [u8]) -> Self {
        Self {
            body,
            counted_to: 0,
            line: 1,
        }
    }

    /// The line a record starting at `position` is on (records come in order).
    pub(crate) fn of(&mut self, position: Option<&csv::Position>) -> u64 {
        let Some(position) = position else { return 0 };
        let mut start = usize::try_from(position.byte())
            .unwrap_or(usize::MAX)
            .min(self.body.len());
        while start < self.body.len() && matches!(self.body[start], b'\r' | b'\n') {
            start += 1;
        }
        if start > self.counted_to {
            let span = &self.body[self.counted_to..start];
            let ends = span
                .iter()
                .enumerate()
                .filter(|&(i, b)| *b == b'\n' || (*b == b'\r' && span.get(i + 1) != Some(&b'\n')))
                .count();
            self.line += ends as u64;
            self.counted_to = start;
        }
        self.line
    }
}
