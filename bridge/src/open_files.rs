//! The open-files limit: every peer, page and HTTP request takes a file descriptor, and a
//! process starts with a soft limit (often 1024) far below what `--max-conns` allows. The
//! bridge raises its soft limit to the hard one, which any process may do, and bounds what
//! HTTP may take of it, so that the TCP listener keeps room however many requests arrive.

/// What HTTP connections that are not yet pages may take of the limit, at most: a quarter,
/// and never more than `http_server::MAX_PENDING`. The rest is the TCP listener's, the
/// pages' (`--max-pages`), the dials' and the files'.
pub const HTTP_SHARE: u64 = 4;

/// Raises the soft open-files limit to the hard one; returns the limit now in force (`None`
/// where it cannot be read).
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)] // `rlim_t` is u64 on Linux, not everywhere
pub fn raise() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    let was = limit.rlim_cur;
    if was < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            tracing::debug!(
                "raised the open-files limit from {was} to {} (the hard limit)",
                raised.rlim_cur
            );
            return Some(raised.rlim_cur as u64);
        }
        tracing::debug!(
            "could not raise the open-files limit from {was}: {}",
            std::io::Error::last_os_error()
        );
    }
    Some(was as u64)
}

#[cfg(not(unix))]
pub fn raise() -> Option<u64> {
    None
}

/// How many HTTP connections that are not yet pages may be open at once, under `limit`.
pub fn http_pending(limit: Option<u64>, most: usize) -> usize {
    limit.map_or(most, |limit| {
        usize::try_from(limit / HTTP_SHARE).map_or(most, |share| share.clamp(1, most))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_takes_a_quarter_of_a_small_limit_at_most() {
        assert_eq!(http_pending(Some(1 << 20), 256), 256);
        assert_eq!(http_pending(Some(256), 256), 64);
        assert_eq!(http_pending(None, 256), 256);
    }
}
