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
        // Number mode (`?number=1`, or the checkbox): a wider pad, read as `predict --number` reads.
        let number = query["number"] == "1"
        let pad = number ? Site.numberPad : Site.digitPad
        let results = DigitPipeline.allCases.reversed().map { p in
            """
            <div class="card digit-mode" id="result-\(p.rawValue)"\(number ? " hidden" : "")><h3>\(p == .mnist ? "mnist pipeline (MNIST's own preparation)" : "paper pipeline (the annexure's steps)")</h3>
            <div class="row"><div><canvas id="input-\(p.rawValue)" width="28" height="28" style="width:140px;height:140px;image-rendering:pixelated;background:#000"></canvas>
            <div class="muted">the 28 x 28 input</div></div>
            <div><span class="muted">reads</span> <span class="digit" id="digit-\(p.rawValue)">?</span>
            <table class="probs" id="probs-\(p.rawValue)"></table></div></div>
            <p class="problem" id="error-\(p.rawValue)"></p></div>
            """
        }.joined() + """
            <div class="card number-mode" id="result-number"\(number ? "" : " hidden")><h3>The number (mnist pipeline, digit by digit)</h3>
            <div><span class="muted">reads</span> <span class="number" id="number">?</span></div>
            <div class="row" id="number-digits"></div>
            <p class="muted">Each digit: the 28 x 28 input, the digit and its probability, the runner-up.</p></div>
            """
        let body = """
            <form id="model-form" method="get" action="/try"><label>Model <select name="model" id="model">\(options)</select></label>
            <label><input type="checkbox" name="number" value="1" id="number-mode"\(number ? " checked" : "")> Read a number of several digits</label>
            <noscript><button>Use</button></noscript></form>
            <div class="row"><div class="card"><h3 id="pad-title">\(number ? "Draw a number" : "Draw a digit")</h3>
            <canvas id="pad" width="\(pad.width)" height="\(pad.height)"></canvas><br>
            <button id="clear" type="button">Clear</button> <button id="read" type="button">Read</button>
            <p><label>or upload a photograph (PNG, JPEG, PGM, PPM; up to 10 MB): <input type="file" id="upload" accept="image/*"></label></p>
            <p class="problem" id="error"></p></div>
            \(results)</div>
            """ + modelSection(chosen)
        return Site.page(Page.render(title: "Try the model", section: "/try", body: body, script: Site.tryScript))
    }

    /// `POST /api/predict?model=ID` with the image's bytes as the body: both pipelines' readings
    /// as JSON; with `&number=1`, the number the image holds (`NumberResponse`), or a 422 and one
    /// line when it holds none. Bad input gets a 4xx and one line of text.
    func predict(_ request: Request) async throws -> Response {
        let query = Site.query(request)
        let id = query["model"] ?? library.models().first?.id ?? ""
        guard let model = library.model(id: id) else { throw ServeError.notFound("saved model \"\(id)\"", page: false) }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: ServerConfiguration.maximumUploadBytes)
        } catch is NIOTooManyBytesError {
            throw ServeError(status: .contentTooLarge, message: "the upload is larger than \(ServerConfiguration.maximumUploadBytes >> 20) MB",
                             asPage: false)
        }
        let bytes = Array(body.readableBytesView)
        let number = query["number"] == "1"
        let inference = self.inference
        do {
            let (answer, hit) = try await answers.answer(AnswerCache.Key(upload: bytes, modelPath: model.path, number: number)) {
                if number {
                    do {
                        return try Site.jsonBytes(try inference.readNumber(bytes: bytes, name: "upload", model: model))
                    } catch let failure as MNISTPipeline.Failure {
                        // No ink, too many marks, marks of wildly different sizes: no number, said in one line.
                        throw ServeError(status: .unprocessableContent, message: "upload: " + failure.description, asPage: false)
                    }
                }
                let response = try inference.predict(bytes: bytes, name: "upload", model: model)
                return try PredictJSON.encode(response) ?? Site.jsonBytes(response)
            }
            return Site.answer(answer, cache: hit ? "hit" : "miss")
        } catch let e as DataError {
            // Not an image, a broken one, or one over the decoders' pixel limit.
            let tooLarge = e.problem.contains("more than the")
            throw ServeError(status: tooLarge ? .contentTooLarge : .unsupportedMediaType, message: e.description, asPage: false)
        }
    }

    /// The drawing pad's size in pixels: one digit, or a number of several.
    static let digitPad = (width: 280, height: 280), numberPad = (width: 700, height: 200)

    /// Drawing on the pad, reading it or an upload, and showing both pipelines' answers, or in
    /// number mode the number and each of its digits.
    static let tryScript = """
        (function(){
          var pad = document.getElementById('pad'); if (!pad) return;
          var ctx = pad.getContext('2d'), drawing = false, last = null, asked = 0;
          var mode = document.getElementById('number-mode');
          function clear(){ ctx.fillStyle = '#000'; ctx.fillRect(0, 0, pad.width, pad.height); }
          function setMode(){
            var n = mode.checked;
            pad.width = n ? \(numberPad.width) : \(digitPad.width); pad.height = n ? \(numberPad.height) : \(digitPad.height);
            document.getElementById('pad-title').textContent = n ? 'Draw a number' : 'Draw a digit';
            document.querySelectorAll('.digit-mode').forEach(function(e){ e.hidden = n; });
            document.querySelectorAll('.number-mode').forEach(function(e){ e.hidden = !n; });
            clear(); show(null);
          }
          function at(e){ var r = pad.getBoundingClientRect(); return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height]; }
          function line(a, b){ ctx.strokeStyle = '#fff'; ctx.lineWidth = mode.checked ? 16 : 20; ctx.lineCap = 'round'; ctx.lineJoin = 'round';
            ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke(); }
          pad.addEventListener('pointerdown', function(e){ drawing = true; last = at(e); line(last, last); pad.setPointerCapture(e.pointerId); });
          pad.addEventListener('pointermove', function(e){ if (!drawing) return; var p = at(e); line(last, p); last = p; });
          function end(){ if (drawing) { drawing = false; read(); } }
          pad.addEventListener('pointerup', end); pad.addEventListener('pointercancel', end);
          document.getElementById('clear').addEventListener('click', function(){ clear(); show(null); });
          document.getElementById('read').addEventListener('click', read);
          document.getElementById('upload').addEventListener('change', function(e){ var f = e.target.files[0]; if (f) send(f); });
          document.getElementById('model').addEventListener('change', function(){ read(); });
          mode.addEventListener('change', setMode);
          function read(){ pad.toBlob(send, 'image/png'); }
          function send(blob){
            var mine = ++asked;
            document.getElementById('error').textContent = '';
            var model = document.getElementById('model').value;
            fetch('/api/predict?model=' + encodeURIComponent(model) + (mode.checked ? '&number=1' : ''), {method: 'POST', body: blob}).then(function(r){
              if (!r.ok) return r.text().then(function(t){ throw new Error(t); });
              return r.json();
            }).then(function(reply){ if (mine === asked) show(reply); }).catch(function(e){
              if (mine !== asked) return;
              show(null); document.getElementById('error').textContent = e.message;
            });
          }
          function paint(canvas, bytes){
            var c = canvas.getContext('2d'), img = c.createImageData(28, 28);
            for (var i = 0; i < 784; i++) { var v = bytes[i]; img.data[4*i] = v; img.data[4*i+1] = v; img.data[4*i+2] = v; img.data[4*i+3] = 255; }
            c.putImageData(img, 0, 0);
          }
          function percent(p){ return (100 * p).toFixed(1) + '%'; }
          function show(reply){
            showNumber(reply && reply.reading ? reply : null);
            ['mnist', 'paper'].forEach(function(name){
              var r = reply && reply.readings && reply.readings.filter(function(x){ return x.pipeline === name; })[0];
              var c = document.getElementById('input-' + name).getContext('2d');
              c.fillStyle = '#000'; c.fillRect(0, 0, 28, 28);
              document.getElementById('digit-' + name).textContent = r && r.digit != null ? r.digit : '?';
              document.getElementById('error-' + name).textContent = r && r.error ? r.error : '';
              var t = document.getElementById('probs-' + name); t.innerHTML = '';
              if (!r || r.digit == null) return;
              paint(c.canvas, r.input);
              r.probabilities.forEach(function(p, d){
                var row = t.insertRow(), w = Math.max(0, Math.min(100, 100 * p));
                row.insertCell().textContent = d;
                row.insertCell().innerHTML = '<div class="bar" style="min-width:160px"><div style="width:' + w.toFixed(1) + '%' + (d === r.digit ? '' : ';background:#9bb') + '"></div></div>';
                row.insertCell().textContent = percent(p);
              });
            });
            document.body.dataset.readings = reply && reply.readings ? reply.readings.length : 0;
          }
          function showNumber(reply){
            var cells = document.getElementById('number-digits'); cells.innerHTML = '';
            document.getElementById('number').textContent = reply ? reply.reading.number : '?';
            if (!reply) return;
            reply.reading.digits.forEach(function(d, k){
              var cell = document.createElement('div'), c = document.createElement('canvas');
              c.width = 28; c.height = 28; c.className = 'input28'; paint(c, reply.inputs[k]);
              var read = document.createElement('div'), then = document.createElement('div');
              read.innerHTML = '<span class="digit" style="font-size:2em">' + d.digit + '</span> ' + percent(d.probability);
              then.className = 'muted';
              then.textContent = 'then ' + d.runner_up + ' ' + percent(d.runner_up_probability) + (d.split ? '; cut from touching ink' : '');
              cell.appendChild(c); cell.appendChild(read); cell.appendChild(then); cells.appendChild(cell);
            });
          }
          setMode();
        })();
        """
}
