import DigitLab
import Foundation
import Hummingbird
import NIOCore

/// Try the model: draw a digit or upload a photograph, and see what each pipeline makes of it
/// (the 28 x 28 input, the digit, the ten probabilities) with any saved model.
extension Site {
    func tryPage(_ query: Query) -> Response {
        let models = library.models()
        let chosen = query["model"].flatMap { id in models.first { $0.id == id } } ?? models.first
        guard let chosen else {
            let body = "<p class=\"problem\">No saved model under <code>\(html(configuration.results))</code>: "
                + "<code>models/*.safetensors</code> or a finished run's <code>model.safetensors</code>.</p>"
            return Site.page(Page.render(title: "Try the model", section: "/try", body: body))
        }
        let options = models.map { m in
            "<option value=\"\(html(m.id))\"\(m == chosen ? " selected" : "")>\(html(m.id))</option>"
        }.joined()
        let results = DigitPipeline.allCases.reversed().map { p in
            """
            <div class="card" id="result-\(p.rawValue)"><h3>\(p == .mnist ? "mnist pipeline (MNIST's own preparation)" : "paper pipeline (the annexure's steps)")</h3>
            <div class="row"><div><canvas id="input-\(p.rawValue)" width="28" height="28" style="width:140px;height:140px;image-rendering:pixelated;background:#000"></canvas>
            <div class="muted">the 28 x 28 input</div></div>
            <div><span class="muted">reads</span> <span class="digit" id="digit-\(p.rawValue)">?</span>
            <table class="probs" id="probs-\(p.rawValue)"></table></div></div>
            <p class="problem" id="error-\(p.rawValue)"></p></div>
            """
        }.joined()
        let body = """
            <form id="model-form" method="get" action="/try"><label>Model <select name="model" id="model">\(options)</select></label>
            <noscript><button>Use</button></noscript></form>
            <div class="row"><div class="card"><h3>Draw a digit</h3>
            <canvas id="pad" width="280" height="280"></canvas><br>
            <button id="clear" type="button">Clear</button> <button id="read" type="button">Read</button>
            <p><label>or upload a photograph (PNG, JPEG, PGM, PPM; up to 10 MB): <input type="file" id="upload" accept="image/*"></label></p>
            <p class="problem" id="error"></p></div>
            \(results)</div>
            """ + modelSection(chosen)
        return Site.page(Page.render(title: "Try the model", section: "/try", body: body, script: Site.tryScript))
    }

    /// `POST /api/predict?model=ID` with the image's bytes as the body: both pipelines' readings
    /// as JSON. Bad input gets a 4xx and one line of text.
    func predict(_ request: Request) async throws -> Response {
        let id = Site.query(request)["model"] ?? library.models().first?.id ?? ""
        guard let model = library.model(id: id) else { throw ServeError.notFound("saved model \"\(id)\"", page: false) }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: ServerConfiguration.maximumUploadBytes)
        } catch is NIOTooManyBytesError {
            throw ServeError(status: .contentTooLarge, message: "the upload is larger than \(ServerConfiguration.maximumUploadBytes >> 20) MB",
                             asPage: false)
        }
        let bytes = Array(body.readableBytesView)
        do {
            return try Site.json(try await inference.predict(bytes: bytes, name: "upload", model: model))
        } catch let e as DataError {
            // Not an image, a broken one, or one over the decoders' pixel limit.
            let tooLarge = e.problem.contains("more than the")
            throw ServeError(status: tooLarge ? .contentTooLarge : .unsupportedMediaType, message: e.description, asPage: false)
        }
    }

    /// Drawing on the pad, reading it or an upload, and showing both pipelines' answers.
    static let tryScript = """
        (function(){
          var pad = document.getElementById('pad'); if (!pad) return;
          var ctx = pad.getContext('2d'), drawing = false, last = null;
          function clear(){ ctx.fillStyle = '#000'; ctx.fillRect(0, 0, pad.width, pad.height); }
          clear();
          function at(e){ var r = pad.getBoundingClientRect(); return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height]; }
          function line(a, b){ ctx.strokeStyle = '#fff'; ctx.lineWidth = 20; ctx.lineCap = 'round'; ctx.lineJoin = 'round';
            ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke(); }
          pad.addEventListener('pointerdown', function(e){ drawing = true; last = at(e); line(last, last); pad.setPointerCapture(e.pointerId); });
          pad.addEventListener('pointermove', function(e){ if (!drawing) return; var p = at(e); line(last, p); last = p; });
          function end(){ if (drawing) { drawing = false; read(); } }
          pad.addEventListener('pointerup', end); pad.addEventListener('pointercancel', end);
          document.getElementById('clear').addEventListener('click', function(){ clear(); show(null); });
          document.getElementById('read').addEventListener('click', read);
          document.getElementById('upload').addEventListener('change', function(e){ var f = e.target.files[0]; if (f) send(f); });
          document.getElementById('model').addEventListener('change', function(){ read(); });
          function read(){ pad.toBlob(send, 'image/png'); }
          function send(blob){
            document.getElementById('error').textContent = '';
            var model = document.getElementById('model').value;
            fetch('/api/predict?model=' + encodeURIComponent(model), {method: 'POST', body: blob}).then(function(r){
              if (!r.ok) return r.text().then(function(t){ throw new Error(t); });
              return r.json();
            }).then(show).catch(function(e){ show(null); document.getElementById('error').textContent = e.message; });
          }
          function show(reply){
            ['mnist', 'paper'].forEach(function(name){
              var r = reply && reply.readings.filter(function(x){ return x.pipeline === name; })[0];
              var c = document.getElementById('input-' + name).getContext('2d');
              c.fillStyle = '#000'; c.fillRect(0, 0, 28, 28);
              document.getElementById('digit-' + name).textContent = r && r.digit != null ? r.digit : '?';
              document.getElementById('error-' + name).textContent = r && r.error ? r.error : '';
              var t = document.getElementById('probs-' + name); t.innerHTML = '';
              if (!r || r.digit == null) return;
              var img = c.createImageData(28, 28);
              for (var i = 0; i < 784; i++) { var v = r.input[i]; img.data[4*i] = v; img.data[4*i+1] = v; img.data[4*i+2] = v; img.data[4*i+3] = 255; }
              c.putImageData(img, 0, 0);
              r.probabilities.forEach(function(p, d){
                var row = t.insertRow(), w = Math.max(0, Math.min(100, 100 * p));
                row.insertCell().textContent = d;
                row.insertCell().innerHTML = '<div class="bar" style="min-width:160px"><div style="width:' + w.toFixed(1) + '%' + (d === r.digit ? '' : ';background:#9bb') + '"></div></div>';
                row.insertCell().textContent = (100 * p).toFixed(1) + '%';
              });
            });
            document.body.dataset.readings = reply ? reply.readings.length : 0;
          }
        })();
        """
}
