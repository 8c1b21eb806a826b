"""Forms only shape input; the services in signin.py and registration.py decide."""

from django import forms


class RegisterForm(forms.Form):
    username = forms.CharField(strip=False, max_length=256)
    email = forms.CharField(required=False, max_length=254)
    password1 = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput)
    password2 = forms.CharField(label="Password again", strip=False, widget=forms.PasswordInput)

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("password1") is not None
            and cleaned.get("password2") is not None
            and cleaned["password1"] != cleaned["password2"]
        ):
            self.add_error("password2", "The two passwords differ.")
        return cleaned
