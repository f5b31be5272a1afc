//! Device choice, in exactly one place: `--device auto|cpu|cuda[:N]|metal`.

use candle_core::Device;

use crate::model::{ModelError, Result};

/// Parses a device spec and opens the device. `auto` prefers CUDA, then
/// Metal, when this build has them and the hardware answers; else CPU.
pub fn select(spec: &str) -> Result<Device> {
    let err = |message: String| ModelError::Device {
        spec: spec.to_string(),
        message,
    };
    match spec {
        "auto" => {
            if candle_core::utils::cuda_is_available() {
                if let Ok(d) = Device::new_cuda(0) {
                    return Ok(d);
                }
            }
            if candle_core::utils::metal_is_available() {
                if let Ok(d) = Device::new_metal(0) {
                    return Ok(d);
                }
            }
            Ok(Device::Cpu)
        }
        "cpu" => Ok(Device::Cpu),
        "metal" => {
            if !candle_core::utils::metal_is_available() {
                return Err(err(
                    "this build has no Metal support (rebuild with `--features metal` on macOS)"
                        .into(),
                ));
            }
            Device::new_metal(0).map_err(|e| err(e.to_string()))
        }
        s if s == "cuda" || s.starts_with("cuda:") => {
            let ordinal = match s.strip_prefix("cuda:") {
                None => 0,
                Some(n) => n
                    .parse::<usize>()
                    .map_err(|_| err(format!("`{n}` is not a GPU index")))?,
            };
            if !candle_core::utils::cuda_is_available() {
                return Err(err(
                    "this build has no CUDA support (rebuild with `--features cuda`)".into(),
                ));
            }
            Device::new_cuda(ordinal).map_err(|e| err(e.to_string()))
        }
        other => Err(err(format!(
            "unknown device `{other}`; use auto, cpu, cuda, cuda:N or metal"
        ))),
    }
}

pub fn describe(device: &Device) -> String {
    match device {
        Device::Cpu => format!("cpu ({} threads)", candle_core::utils::get_num_threads()),
        Device::Cuda(_) => "cuda".to_string(),
        Device::Metal(_) => "metal".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        assert!(matches!(select("cpu").unwrap(), Device::Cpu));
        assert!(select("tpu")
            .unwrap_err()
            .to_string()
            .contains("unknown device"));
        assert!(select("cuda:x")
            .unwrap_err()
            .to_string()
            .contains("not a GPU index"));
        #[cfg(not(feature = "cuda"))]
        assert!(select("cuda")
            .unwrap_err()
            .to_string()
            .contains("--features cuda"));
    }
}
