//! A streaming mono resampler around rubato's synchronous FFT resampler: push any number of
//! samples, get resampled output with the filter delay already removed, and an exact length
//! (`ceil(n × out / in)`) after `finish`.
use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

use super::AudioError;

pub struct StreamResampler {
    inner: Fft<f32>,
    rate_in: u64,
    rate_out: u64,
    pending: Vec<f32>,
    scratch: Vec<f32>,
    /// Output frames still to drop: rubato's filter delay.
    skip: usize,
    consumed_in: u64,
    emitted_out: u64,
}

const CHUNK: usize = 1024;

impl StreamResampler {
    pub fn new(rate_in: u32, rate_out: u32) -> Result<Self, AudioError> {
        let inner = Fft::<f32>::new(
            rate_in as usize,
            rate_out as usize,
            CHUNK,
            1,
            FixedSync::Input,
        )
        .map_err(|e| AudioError::encoder("resampler", e))?;
        let skip = inner.output_delay();
        let scratch = vec![0.0; inner.output_frames_max()];
        Ok(Self {
            inner,
            rate_in: rate_in as u64,
            rate_out: rate_out as u64,
            pending: Vec::with_capacity(CHUNK * 2),
            scratch,
            skip,
            consumed_in: 0,
            emitted_out: 0,
        })
    }

    fn run_chunk(
        &mut self,
        input: &[f32],
        partial: Option<usize>,
        out: &mut Vec<f32>,
    ) -> Result<(), AudioError> {
        let err = |e: &dyn std::fmt::Display| AudioError::encoder("resampler", e);
        let frames_in = self.inner.input_frames_next();
        let in_buf: Vec<f32>;
        let input = if input.len() < frames_in {
            let mut v = input.to_vec();
            v.resize(frames_in, 0.0);
            in_buf = v;
            &in_buf[..]
        } else {
            input
        };
        let adapter_in = InterleavedSlice::new(input, 1, frames_in).map_err(|e| err(&e))?;
        let cap = self.scratch.len();
        let mut adapter_out =
            InterleavedSlice::new_mut(&mut self.scratch, 1, cap).map_err(|e| err(&e))?;
        let mut idx = Indexing::new();
        idx.partial_len = partial;
        let (_, n_out) = self
            .inner
            .process_into_buffer(&adapter_in, &mut adapter_out, Some(&idx))
            .map_err(|e| err(&e))?;
        let produced = &self.scratch[..n_out];
        let drop = self.skip.min(produced.len());
        self.skip -= drop;
        out.extend_from_slice(&produced[drop..]);
        Ok(())
    }

    /// Resample `pcm`, appending ready output to `out`.
    pub fn push(&mut self, pcm: &[f32], out: &mut Vec<f32>) -> Result<(), AudioError> {
        // Taken out for the loop so chunks are borrowed from it, not copied.
        let mut pending = std::mem::take(&mut self.pending);
        pending.extend_from_slice(pcm);
        let mut start = 0;
        let before = out.len();
        while pending.len() - start >= self.inner.input_frames_next() {
            let n = self.inner.input_frames_next();
            self.run_chunk(&pending[start..start + n], None, out)?;
            start += n;
        }
        self.consumed_in += start as u64;
        pending.drain(..start);
        self.pending = pending;
        self.emitted_out += (out.len() - before) as u64;
        Ok(())
    }

    /// Flush the tail: after this, total output is exactly `ceil(total_in × out / in)` frames.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> Result<(), AudioError> {
        let total_in = self.consumed_in + self.pending.len() as u64;
        let expected = (total_in * self.rate_out).div_ceil(self.rate_in);
        let before = out.len();
        let rest = std::mem::take(&mut self.pending);
        if !rest.is_empty() {
            self.run_chunk(&rest, Some(rest.len()), out)?;
        }
        // Feed silence until the filter delay has drained.
        let mut guard = 0;
        while self.emitted_out + ((out.len() - before) as u64) < expected && guard < 64 {
            self.run_chunk(&[], Some(0), out)?;
            guard += 1;
        }
        let produced = self.emitted_out + (out.len() - before) as u64;
        if produced > expected {
            let extra = (produced - expected) as usize;
            out.truncate(out.len() - extra.min(out.len() - before));
        }
        self.emitted_out = expected.min(self.emitted_out + (out.len() - before) as u64);
        Ok(())
    }
}
