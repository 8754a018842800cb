"""ADBench workloads for tangent_src (issue #7).

Plain-NumPy objectives written from ADBench's mathematics (``shared/data/adbench/
OBJECTIVES.md``), in vectorized and loop form, with readers for ADBench's files:

* :mod:`.io` -- readers (GMM incl. the replicated-point files, BA with ADBench's
  replication, LSTM) and the location of the data;
* :mod:`.gmm` -- Gaussian mixture objective, hand-written gradients;
* :mod:`.ba` -- bundle adjustment residuals and the sparse Jacobian in ADBench's CSR
  order, built from tangent_src's reverse or forward mode;
* :mod:`.lstm` -- LSTM loss, hand-written back-propagation through time;
* :mod:`.peers` -- the same derivatives with autograd, JAX and PyTorch (when installed);
* :mod:`.suite` -- the benchmark cases run by ``python benchmarks/run.py``.
"""
